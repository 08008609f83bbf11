import Foundation

/// How a multi-slot transaction is made to land exactly once, even when the writer dies halfway: see
/// ``RedisClient/transactionPerSlot(_:journal:)``.
public struct RedisSlotJournal: Sendable {
    /// The key that holds the pending transaction until every slot has it.
    public var key: String
    /// The key, given a hash tag, that records in that tag's slot the last `sequence` applied there: must contain
    /// `{tag}` as its first braces.
    public var marker: @Sendable (_ tag: String) -> String
    /// Increases with every transaction of this writer (for a collector: its log position).
    public var sequence: UInt64

    public init(key: String, sequence: UInt64, marker: @escaping @Sendable (_ tag: String) -> String) {
        self.key = key
        self.sequence = sequence
        self.marker = marker
    }
}

extension RedisClient {
    /// Calls `handler` whenever the cluster's slot map is found changed (a failover or resharding); never on a single
    /// server. The handler runs on a Redis thread or a caller's task: keep it short.
    public func onTopologyChange(_ handler: @escaping @Sendable (RedisTopologyChange) -> Void) {
        cluster?.onTopologyChange(handler)
    }

    /// One hash tag per master (shard): `"{tag}…"` keys land on that master. A single server has one, `""`, meaning
    /// no tag is needed. For markers that must exist on every shard, such as a hot-store epoch.
    public func shardTags() async throws -> [String] {
        guard let cluster else { return [""] }
        return try await cluster.shards().map { RedisKeySlot.tag(for: $0.slot) }
    }

    /// Runs `body` on a connection to the master that holds `key`'s slot (on a single server, any connection), so that
    /// a `WATCH` and a `MULTI` on keys of that slot share one connection.
    public func withConnection<T: Sendable>(
        slotOf key: String, _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        guard let cluster else { return try await withConnection(body) }
        return try await cluster.run(on: try await cluster.master(ofSlot: RedisKeySlot.slot(key)), body)
    }

    /// The cluster's masters, in slot order (none on a single server).
    func masterNodes() async throws -> [RedisNode] {
        guard let cluster else { return [] }
        return try await cluster.shards().map(\.node)
    }

    /// Runs one command on `node` itself, whatever its keys (for `SCAN`, which walks one node's keys).
    func command(on node: RedisNode, _ args: [RESPArg]) async throws -> RedisReply {
        guard let cluster else { return try await command(args) }
        return try await cluster.run(on: node) { try $0.command(args) }
    }

    // MARK: - Pipelines

    /// Sends each master its commands as one pipeline (all masters at once), follows redirects command by command,
    /// and returns the replies in the order of `commands`.
    func clusterPipeline(_ commands: RESPCommands, _ cluster: RedisCluster) async throws -> [RedisReply] {
        let spans = commands.spans()
        var byNode: [RedisNode: [Int]] = [:]
        for (index, span) in spans.enumerated() {
            let node: RedisNode
            if let slot = span.slot {
                node = try await cluster.master(ofSlot: slot)
            } else {
                node = try await cluster.anyMaster()
            }
            byNode[node, default: []].append(index)
        }
        let bytes = commands.bytes
        var replies = [RedisReply](repeating: .null, count: spans.count)
        try await withThrowingTaskGroup(of: ([Int], [RedisReply]).self) { group in
            for (node, indices) in byNode {
                var batch: [UInt8] = []
                for index in indices { batch += bytes[spans[index].bytes] }
                let sent = batch
                group.addTask {
                    let answer = try await cluster.run(on: node) { connection in
                        try Self.exchange(connection, sent, count: indices.count, asking: false)
                    }
                    return (indices, answer)
                }
            }
            for try await (indices, answer) in group {
                for (index, reply) in zip(indices, answer) { replies[index] = reply }
            }
        }
        for (index, reply) in replies.enumerated() where RedisRedirect(reply) != nil {
            let span = spans[index]
            replies[index] = try await runGroup(
                slot: span.slot ?? 0, Array(bytes[span.bytes]), count: 1, transactional: false, cluster
            )[0]
        }
        return replies
    }

    // MARK: - Transactions

    /// Runs the commands as one `MULTI` … `EXEC` per slot and returns the replies in the order of `commands`.
    ///
    /// Each slot's commands land whole or not at all, but slots land one after the other: a failure between them
    /// leaves the earlier ones applied. Slots run in the order of their last command, so what a batch ends with
    /// (a position, a change-feed entry) is written after the rest. On a single server it is one transaction.
    public func transactionPerSlot(_ commands: RESPCommands) async throws -> [RedisReply] {
        guard let cluster else { return try await transaction(commands) }
        let groups = try Self.slotGroups(commands)
        var replies = [RedisReply](repeating: .null, count: commands.count)
        for group in groups {
            let answer = try await runGroup(
                slot: group.slot, group.bytes, count: group.indices.count, transactional: true, cluster)
            for (index, reply) in zip(group.indices, answer) { replies[index] = reply }
        }
        return replies
    }

    /// Like ``transactionPerSlot(_:)``, but every slot's transaction is sent at once (those of one master in one
    /// write, every master in parallel), in no order between slots: for reads of several slots, each slot's read
    /// atomic, in one round trip per master. Replies in the order of `commands`.
    public func transactionsPerSlotAtOnce(_ commands: RESPCommands) async throws -> [RedisReply] {
        guard let cluster else { return try await transaction(commands) }
        let groups = try Self.slotGroups(commands)
        let answers = try await runTransactions(groups.map { ($0.slot, $0.bytes, $0.indices.count) }, cluster)
        var replies = [RedisReply](repeating: .null, count: commands.count)
        for (group, answer) in zip(groups, answers) {
            for (index, reply) in zip(group.indices, answer) { replies[index] = reply }
        }
        return replies
    }

    /// Like ``transactionPerSlot(_:)``, but exactly once across slots even if this process dies between them.
    ///
    /// The slots' transactions, each with a `SET` of its slot's marker to `journal.sequence`, are first stored under
    /// `journal.key`; then every slot's transaction but the last runs (those of one master in one write, all masters
    /// at once), then the last one (the slot of the batch's last command); then the journal is deleted. A writer that
    /// starts again calls ``finishJournal(key:marker:)`` before anything else: it runs the stored transactions of the
    /// slots whose marker is still below the sequence, so each slot gets the batch once. On a single server this is
    /// one plain transaction, which is atomic anyway.
    public func transactionPerSlot(_ commands: RESPCommands, journal: RedisSlotJournal) async throws {
        guard let cluster else {
            _ = try await transaction(commands)
            return
        }
        let groups = try Self.slotGroups(commands).map { group in
            var marked = group
            var set = RESPCommands()
            set.set(journal.marker(RedisKeySlot.tag(for: group.slot)), String(journal.sequence), expireSeconds: 86_400)
            marked.bytes += set.bytes
            marked.indices.append(-1)
            return marked
        }
        var record = RESPCommands()
        record.set(journal.key, Self.encodeJournal(groups, sequence: journal.sequence))
        _ = try await pipeline(record)
        _ = try await runTransactions(groups.dropLast().map { ($0.slot, $0.bytes, $0.indices.count) }, cluster)
        if let last = groups.last {
            _ = try await runGroup(slot: last.slot, last.bytes, count: last.indices.count, transactional: true, cluster)
        }
        var done = RESPCommands()
        done.del(journal.key)
        _ = try await pipeline(done)
    }

    /// Completes a journaled transaction that a writer left halfway (see ``transactionPerSlot(_:journal:)``);
    /// returns whether there was one. Safe to call when there is none, and on a single server (which has none).
    ///
    /// A journal of ``guardedPerSlot(_:guard:journal:)`` runs its guarded parts as they are: each checks its slot
    /// itself, and `onRefusal` hears of those refused (fenced off, or behind: the slot lost writes).
    @discardableResult
    public func finishJournal(
        key: String, marker: @escaping @Sendable (String) -> String,
        onRefusal: (@Sendable (_ slot: Int, _ verdict: RedisSlotVerdict) -> Void)? = nil
    ) async throws -> Bool {
        guard let cluster else { return false }
        let stored = try await command("GET", .string(key))
        guard let blob = stored.bytes else { return false }
        guard let (guarded, sequence, groups) = Self.decodeJournal(blob) else {
            throw RedisError(
                code: .protocol,
                message: "\(key) does not hold a transaction journal; delete it by hand if nothing else wrote it")
        }
        for group in groups {
            if guarded {
                let reply = try await runGroup(
                    slot: group.slot, group.bytes, count: group.count, transactional: false, cluster)
                let verdict = try await guardedVerdict(reply[0], slot: group.slot, group.bytes, cluster)
                if !verdict.isIn { onRefusal?(group.slot, verdict) }
                continue
            }
            let markerKey = marker(RedisKeySlot.tag(for: group.slot))
            let applied = try await command("GET", .string(markerKey))
            if let text = applied.string, let value = UInt64(text), value >= sequence { continue }
            _ = try await runGroup(
                slot: group.slot, group.bytes, count: group.count, transactional: true, cluster)
        }
        _ = try await command("DEL", .string(key))
        return true
    }

    // MARK: - Internals

    struct SlotGroup {
        var slot: Int
        var bytes: [UInt8]
        /// The index in the original batch of each command (-1 for one the client added).
        var indices: [Int]
    }

    /// The commands by slot, each group in its original order, the groups ordered by their last command.
    static func slotGroups(_ commands: RESPCommands) throws(RedisError) -> [SlotGroup] {
        var groups: [Int: SlotGroup] = [:]
        var last: [Int: Int] = [:]
        let bytes = commands.bytes
        for (index, span) in commands.spans().enumerated() {
            guard let slot = span.slot else {
                throw RedisError(
                    code: .server,
                    message: "command #\(index + 1) of a cluster transaction has no key to route it by")
            }
            groups[slot, default: SlotGroup(slot: slot, bytes: [], indices: [])].bytes += bytes[span.bytes]
            groups[slot]!.indices.append(index)
            last[slot] = index
        }
        return groups.values.sorted { last[$0.slot]! < last[$1.slot]! }
    }

    /// Runs each slot's commands as one transaction: those of one master in one write, every master at once; a slot
    /// that got a redirect runs again through ``runGroup(slot:_:count:transactional:_:)``. Replies in `groups` order.
    func runTransactions(
        _ groups: [(slot: Int, bytes: [UInt8], count: Int)], _ cluster: RedisCluster
    ) async throws -> [[RedisReply]] {
        var byNode: [RedisNode: [Int]] = [:]
        for (index, group) in groups.enumerated() {
            byNode[try await cluster.master(ofSlot: group.slot), default: []].append(index)
        }
        var results = [[RedisReply]?](repeating: nil, count: groups.count)
        var failure: RedisError?
        try await withThrowingTaskGroup(of: [(Int, Result<[RedisReply], RedisError>?)].self) { tasks in
            for (node, indices) in byNode {
                let mine = indices.map { groups[$0] }
                tasks.addTask {
                    let answers = try await cluster.run(on: node) { connection in
                        for group in mine { try connection.sendTransaction(group.bytes, asking: false) }
                        return try mine.map { group -> Result<[RedisReply], RedisError>? in
                            let raw = try connection.receiveTransaction(count: group.count, asking: false)
                            if raw.queued.contains(where: { RedisRedirect($0) != nil })
                                || RedisRedirect(raw.exec) != nil
                            {
                                return nil
                            }
                            return Result { () throws(RedisError) in try RedisConnection.judge(raw) }
                        }
                    }
                    return Array(zip(indices, answers))
                }
            }
            for try await answers in tasks {
                for (index, answer) in answers {
                    switch answer {
                    case .success(let replies)?: results[index] = replies
                    case .failure(let error)?: failure = failure ?? error
                    case nil: break
                    }
                }
            }
        }
        if let failure { throw failure }
        for index in groups.indices where results[index] == nil {
            let group = groups[index]
            results[index] = try await runGroup(
                slot: group.slot, group.bytes, count: group.count, transactional: true, cluster)
        }
        return results.map { $0! }
    }

    /// Runs one slot's commands (a pipeline, or a transaction) on the master that holds the slot, following
    /// `MOVED` (and updating the map), `ASK` (with `ASKING`, this once) and waiting out `CLUSTERDOWN`/`TRYAGAIN`.
    /// A lost connection marks the map stale and throws: whether the commands ran is unknown, so they are not resent.
    func runGroup(
        slot: Int, _ bytes: [UInt8], count: Int, transactional: Bool, _ cluster: RedisCluster
    ) async throws -> [RedisReply] {
        var node = try await cluster.master(ofSlot: slot)
        var asking = false
        var last = ""
        for attempt in 0..<RedisCluster.maxAttempts {
            let askingNow = asking
            let outcome: ([RedisReply], RedisRedirect?)
            do {
                outcome = try await cluster.run(on: node) { connection in
                    if transactional {
                        let raw = try connection.exchangeTransaction(bytes, count: count, asking: askingNow)
                        if let redirect = raw.queued.lazy.compactMap(RedisRedirect.init).first {
                            return ([], redirect)
                        }
                        if case .error = raw.exec, let redirect = RedisRedirect(raw.exec) { return ([], redirect) }
                        return (try RedisConnection.judge(raw), nil)
                    }
                    let replies = try Self.exchange(connection, bytes, count: count, asking: askingNow)
                    return (replies, replies.lazy.compactMap(RedisRedirect.init).first)
                }
            } catch let error as RedisError where error.code == .io || error.code == .connection {
                throw RedisError(
                    code: error.code,
                    message: "\(error.message) (slot \(slot); the cluster's slot map will be read again)")
            }
            asking = false
            switch outcome.1 {
            case nil:
                return outcome.0
            case .moved(let movedSlot, let target)?:
                cluster.noteMoved(slot: movedSlot, to: target)
                node = target
                last = "MOVED to \(target)"
            case .ask(_, let target)?:
                node = target
                asking = true
                last = "ASK to \(target)"
            case .retry?:
                last = "the cluster is down or between masters"
                try await Task.sleep(for: .milliseconds(50 * (attempt + 1)))
                cluster.invalidate()
                node = try await cluster.master(ofSlot: slot)
            }
        }
        throw RedisError(
            code: .server,
            message: "gave up on slot \(slot) after \(RedisCluster.maxAttempts) redirects or retries (last: \(last)); "
                + "is the Redis Cluster resharding or failing over?")
    }

    /// Writes `[ASKING] <commands>` and reads one reply per command.
    static func exchange(
        _ connection: RedisConnection, _ bytes: [UInt8], count: Int, asking: Bool
    ) throws(RedisError) -> [RedisReply] {
        if asking { try connection.send(RedisConnection.asking) }
        try connection.send(bytes)
        if asking { _ = try connection.receive() }
        var replies: [RedisReply] = []
        replies.reserveCapacity(count)
        for _ in 0..<count { replies.append(try connection.receive()) }
        return replies
    }

    // Journal record: "OPSJ1" (a guarded one: "OPSJ2"), sequence (8 bytes), then per group: slot (4), command count
    // (4), length (4), bytes. A guarded journal's groups are single guarded scripts, run without MULTI.
    private static let journalMagic = Array("OPSJ1".utf8)
    private static let guardedJournalMagic = Array("OPSJ2".utf8)

    static func encodeJournal(_ groups: [SlotGroup], sequence: UInt64, guarded: Bool = false) -> [UInt8] {
        var out = guarded ? guardedJournalMagic : journalMagic
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.bigEndian) { out += $0 } }
        put(sequence)
        for group in groups {
            put(UInt32(group.slot))
            put(UInt32(group.indices.count))
            put(UInt32(group.bytes.count))
            out += group.bytes
        }
        return out
    }

    static func decodeJournal(_ blob: [UInt8]) -> (Bool, UInt64, [(slot: Int, count: Int, bytes: [UInt8])])? {
        let guarded = blob.starts(with: guardedJournalMagic)
        guard guarded || blob.starts(with: journalMagic) else { return nil }
        var i = journalMagic.count
        func take<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard i + MemoryLayout<T>.size <= blob.count else { return nil }
            var value: T = 0
            for byte in blob[i..<(i + MemoryLayout<T>.size)] { value = value << 8 | T(byte) }
            i += MemoryLayout<T>.size
            return value
        }
        guard let sequence = take(UInt64.self) else { return nil }
        var groups: [(Int, Int, [UInt8])] = []
        while i < blob.count {
            guard let slot = take(UInt32.self), let count = take(UInt32.self), let length = take(UInt32.self),
                slot < RedisKeySlot.count, i + Int(length) <= blob.count
            else { return nil }
            groups.append((Int(slot), Int(count), Array(blob[i..<(i + Int(length))])))
            i += Int(length)
        }
        return (guarded, sequence, groups)
    }
}
