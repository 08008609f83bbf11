import Foundation

/// A change of the Redis Cluster's slot map: slots now served by another master than before (a failover, a
/// resharding), as the client saw it when it re-read `CLUSTER SLOTS`.
///
/// A failover may lose writes the old master acknowledged but had not yet sent to its replica; a hot store that must
/// stay exact checks the shards named here for such loss.
public struct RedisTopologyChange: Sendable, Equatable {
    /// Counts the changes this client has seen, from 1.
    public var generation: Int
    /// How many slots changed master.
    public var movedSlots: Int
    /// The masters that lost slots (for a failover: the old master).
    public var previousMasters: Set<RedisNode>
    /// The masters that gained slots (for a failover: the promoted replica).
    public var newMasters: Set<RedisNode>
}

/// Routing over a Redis Cluster: the slot map, one set of connection threads per master, and redirects.
///
/// hiredis is blocking and not thread-safe, so each node gets its own ``RedisWorker``s (a thread and a connection
/// each); a batch goes to the workers of the master that holds its slot. The map comes from `CLUSTER SLOTS`, asked of
/// a known master or else a seed node; it is read again after a `MOVED` redirect, after a connection failure, and when
/// a `CLUSTERDOWN` reply says the cluster is between masters.
final class RedisCluster: @unchecked Sendable {
    let url: RedisURL
    private let timeout: Duration
    private let connectionsPerNode: Int
    private let lock = NSLock()
    // Guarded by `lock`.
    private var masters: [RedisNode?] = Array(repeating: nil, count: RedisKeySlot.count)
    private var workers: [RedisNode: [RedisWorker]] = [:]
    private var stale = true
    private var stopped = false
    private var generation = 0
    private var observers: [@Sendable (RedisTopologyChange) -> Void] = []

    /// How many redirects (or waits for a cluster between masters) one batch follows before giving up.
    static let maxAttempts = 12

    init(url: RedisURL, connectionsPerNode: Int, timeout: Duration) {
        self.url = url
        self.connectionsPerNode = connectionsPerNode
        self.timeout = timeout
    }

    /// Calls `handler` (on a Redis thread or the caller's task; keep it short) whenever the slot map changes.
    func onTopologyChange(_ handler: @escaping @Sendable (RedisTopologyChange) -> Void) {
        lock.withLock { observers.append(handler) }
    }

    func shutdown() {
        let all = lock.withLock {
            stopped = true
            return workers.values.flatMap { $0 }
        }
        for worker in all { worker.stop() }
    }

    // MARK: - Running work on a node

    /// Runs `body` on a connection to `node`, on that node's least busy thread.
    func run<T: Sendable>(
        on node: RedisNode, _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        let worker: RedisWorker = try lock.withLock {
            if stopped { throw RedisError(code: .shutdown, message: "the RedisClient for \(url) has been shut down") }
            if let list = workers[node] { return list.min { $0.load < $1.load }! }
            let list = (0..<connectionsPerNode).map { index in
                RedisWorker(url: url.node(node), timeout: timeout, name: "redis-\(node)-\(index)")
            }
            workers[node] = list
            return list[0]
        }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let job = RedisWorker.Job(
                    run: { connection in continuation.resume(with: Result { try body(connection) }) },
                    fail: { error in continuation.resume(throwing: error) }
                )
                if !worker.submit(job) {
                    continuation.resume(
                        throwing: RedisError(code: .shutdown, message: "the RedisClient for \(url) has been shut down"))
                }
            }
        } catch let error as RedisError where error.code == .io || error.code == .connection {
            // A node that is gone (or slow) may have been failed over: read the slot map again before the next batch.
            invalidate()
            throw error
        }
    }

    /// The master serving `slot`, reading the slot map first when it is stale or does not cover the slot.
    func master(ofSlot slot: Int) async throws -> RedisNode {
        if let node = lock.withLock({ stale ? nil : masters[slot] }) { return node }
        try await refresh()
        guard let node = lock.withLock({ masters[slot] }) else {
            throw RedisError(
                code: .server,
                message: "no master serves slot \(slot) of the Redis Cluster at \(url); is every slot assigned "
                    + "(redis-cli --cluster check)?")
        }
        return node
    }

    /// Some master (for commands without a key), or the first seed node before the map is known.
    func anyMaster() async throws -> RedisNode {
        try await master(ofSlot: 0)
    }

    /// The distinct masters and one slot of each, in slot order: where per-shard keys go.
    func shards() async throws -> [(node: RedisNode, slot: Int)] {
        if lock.withLock({ stale }) { try await refresh() }
        return lock.withLock {
            var seen = Set<RedisNode>()
            var out: [(RedisNode, Int)] = []
            for (slot, node) in masters.enumerated() {
                if let node, seen.insert(node).inserted { out.append((node, slot)) }
            }
            return out
        }
    }

    /// Marks the map stale so that the next batch reads it again.
    func invalidate() {
        lock.withLock { stale = true }
    }

    /// Reads `CLUSTER SLOTS` from the first node that answers: known masters first, then the seeds.
    func refresh() async throws {
        let known = lock.withLock { Set(masters.compactMap { $0 }) }
        var candidates = known.sorted { $0.description < $1.description }
        for seed in url.clusterSeeds where !known.contains(seed) { candidates.append(seed) }
        var failures: [String] = []
        for node in candidates {
            do {
                let reply = try await run(on: node) { try $0.command("CLUSTER", "SLOTS") }
                let map = try Self.parseSlots(reply, askedNode: node)
                install(map)
                return
            } catch let error as RedisError where error.code == .shutdown {
                throw error
            } catch {
                failures.append("\(node): \(error)")
            }
        }
        throw RedisError(
            code: .connection,
            message: "could not read the slot map of the Redis Cluster at \(url) from any node "
                + "(\(failures.joined(separator: "; "))); is the cluster up?")
    }

    private func install(_ map: [RedisNode?]) {
        let (change, handlers): (RedisTopologyChange?, [@Sendable (RedisTopologyChange) -> Void]) = lock.withLock {
            defer {
                masters = map
                stale = false
            }
            let hadMap = masters.contains { $0 != nil }
            var moved = 0
            var previous = Set<RedisNode>()
            var gained = Set<RedisNode>()
            for slot in 0..<RedisKeySlot.count where masters[slot] != map[slot] {
                moved += 1
                if let old = masters[slot] { previous.insert(old) }
                if let new = map[slot] { gained.insert(new) }
            }
            guard hadMap, moved > 0 else { return (nil, []) }
            generation += 1
            return (
                RedisTopologyChange(
                    generation: generation, movedSlots: moved, previousMasters: previous, newMasters: gained),
                observers
            )
        }
        if let change { for handler in handlers { handler(change) } }
    }

    /// Learns from a `MOVED` redirect (reported like any change of the map) before the full map is read again.
    func noteMoved(slot: Int, to node: RedisNode) {
        var map = lock.withLock { masters }
        map[slot] = node
        install(map)
        invalidate()
    }

    /// Parses a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id…], replicas…], …]`. An empty host means the
    /// node that was asked.
    static func parseSlots(_ reply: RedisReply, askedNode: RedisNode) throws(RedisError) -> [RedisNode?] {
        if let message = reply.errorMessage {
            throw RedisError(
                code: .server,
                message: "CLUSTER SLOTS failed on \(askedNode): \(message); "
                    + "is it started with --cluster-enabled yes?")
        }
        guard let ranges = reply.array else {
            throw RedisError(code: .protocol, message: "CLUSTER SLOTS on \(askedNode) did not return an array")
        }
        var map = [RedisNode?](repeating: nil, count: RedisKeySlot.count)
        for range in ranges {
            guard let parts = range.array, parts.count >= 3, let start = parts[0].int, let end = parts[1].int,
                let master = parts[2].array, master.count >= 2, let host = master[0].string, let port = master[1].int,
                0 <= start, start <= end, end < RedisKeySlot.count
            else { throw RedisError(code: .protocol, message: "CLUSTER SLOTS on \(askedNode): malformed range") }
            let node = RedisNode(host: host.isEmpty || host == "?" ? askedNode.host : host, port: Int(port))
            for slot in Int(start)...Int(end) { map[slot] = node }
        }
        return map
    }
}

/// A redirect or retryable refusal in a Redis Cluster error reply.
enum RedisRedirect: Equatable {
    /// The slot lives on another master for good: follow and update the map.
    case moved(slot: Int, node: RedisNode)
    /// The slot is being migrated and this key is already on `node`: send `ASKING` there, this once.
    case ask(slot: Int, node: RedisNode)
    /// The cluster is between masters (`CLUSTERDOWN`) or a migration is halfway (`TRYAGAIN`): wait and retry.
    case retry

    init?(_ reply: RedisReply) {
        guard let message = reply.errorMessage else { return nil }
        if message.hasPrefix("CLUSTERDOWN") || message.hasPrefix("TRYAGAIN") || message.hasPrefix("MASTERDOWN") {
            self = .retry
            return
        }
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]),
            let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        var host = String(parts[2][..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let node = RedisNode(host: host, port: port)
        self = parts[0] == "MOVED" ? .moved(slot: slot, node: node) : .ask(slot: slot, node: node)
    }
}

/// One command of an encoded batch: where its bytes are and the slot of its key (`nil`: it has none).
struct RESPCommandSpan {
    var bytes: Range<Int>
    var slot: Int?
}

extension RESPCommands {
    /// Commands whose second argument is not a key.
    private static let keyless: Set<String> = [
        "PING", "ECHO", "INFO", "CLUSTER", "ASKING", "MULTI", "EXEC", "DISCARD", "DBSIZE", "FLUSHALL", "FLUSHDB",
        "CONFIG", "CLIENT", "COMMAND", "TIME", "SCRIPT", "MEMORY", "READONLY", "READWRITE", "WAIT", "HELLO", "AUTH",
        "SELECT",
    ]

    /// Commands whose key comes after a script and a key count.
    private static let scripts: Set<String> = ["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"]

    /// Splits the encoded batch back into its commands, with the slot of each one's key (its second argument).
    func spans() -> [RESPCommandSpan] {
        var out: [RESPCommandSpan] = []
        out.reserveCapacity(count)
        bytes.withUnsafeBufferPointer { b in
            var i = 0
            func number(after marker: UInt8) -> Int {
                precondition(b[i] == marker, "RESPCommands holds malformed RESP")
                i += 1
                var value = 0
                while b[i] != UInt8(ascii: "\r") {
                    value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
                    i += 1
                }
                i += 2
                return value
            }
            while i < b.count {
                let start = i
                let argc = number(after: UInt8(ascii: "*"))
                var name = ""
                var slot: Int?
                for index in 0..<argc {
                    let length = number(after: UInt8(ascii: "$"))
                    let arg = UnsafeBufferPointer(rebasing: b[i..<(i + length)])
                    if index == 0 {
                        name = String(decoding: arg, as: UTF8.self).uppercased()
                    } else if index == 1 && !Self.keyless.contains(name) && !Self.scripts.contains(name) {
                        slot = RedisKeySlot.slot(arg)
                    } else if index == 3 && Self.scripts.contains(name) {
                        slot = RedisKeySlot.slot(arg)  // EVAL script numkeys key…: routed by its first key
                    }
                    i += length + 2
                }
                out.append(RESPCommandSpan(bytes: start..<i, slot: slot))
            }
        }
        return out
    }
}
