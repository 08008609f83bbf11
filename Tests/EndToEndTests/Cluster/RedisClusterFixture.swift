import Foundation
import OpsightTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether the cluster tests run: `make test-cluster` sets `OPSIGHT_TEST_CLUSTER=1` (they start six Redis servers,
/// three collectors and haproxy, which `make test` does not want to pay for).
enum ClusterEnvironment {
    static var enabled: Bool { E2EEnvironment.variables["OPSIGHT_TEST_CLUSTER"] == "1" }
    static let skipReason: Comment = "OPSIGHT_TEST_CLUSTER unset: run `make test-cluster`"
}

/// A Redis Cluster of three masters and three replicas on free loopback ports, in a temporary directory, started by
/// the test (`redis-server --cluster-enabled yes` six times, then `redis-cli --cluster create … --cluster-replicas 1`).
///
/// Nodes time out after 2 s (`cluster-node-timeout`), a replica takes over however stale it is
/// (`cluster-replica-validity-factor 0`), and the other shards keep serving while one has no master
/// (`cluster-require-full-coverage no`). Every process is SIGKILLed by ``stop()`` and at `deinit`.
final class RedisClusterFixture: @unchecked Sendable {
    struct Node: Equatable {
        var id: String
        var port: Int
        var isMaster: Bool
        var masterID: String?
        var slots: [ClosedRange<Int>]
    }

    let directory: URL
    private let lock = NSLock()
    private var chosenPorts: [Int]
    private var processes: [Int: Process] = [:]

    /// The six nodes' ports (final once ``start()`` returned: a node that could not bind its port moves).
    var ports: [Int] { lock.withLock { chosenPorts } }

    /// `redis+cluster://` with every node as a seed.
    var url: String { "redis+cluster://" + ports.map { "127.0.0.1:\($0)" }.joined(separator: ",") }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "opsight-cluster-\(E2EEnvironment.randomID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var chosen: [Int] = []
        while chosen.count < 6 { chosen.append(try Self.freePort(besides: chosen)) }
        chosenPorts = chosen
    }

    /// A free port whose cluster bus port (port + 10000) is free too.
    private static func freePort(besides taken: [Int]) throws -> Int {
        while true {
            let port = try OpsightServer.freePort()
            if port < 55_000, !taken.contains(port), isFree(port + 10_000) { return port }
        }
    }

    deinit {
        for p in processes.values where ChildExit.status(p) == nil { kill(p.processIdentifier, SIGKILL) }
    }

    /// Starts the six servers, creates the cluster and waits (bounded) until every node sees all slots served.
    ///
    /// A port found free can be taken before its server binds it (the other cluster suite and every test's
    /// connections pick ports meanwhile); a node that exits before it answers is started again on another port.
    func start() async throws {
        for port in ports { try startNode(port) }
        for index in 0..<6 {
            var attempt = 1
            while try await !answersPing(ports[index]) {
                let port = ports[index]
                guard attempt < 3 else {
                    throw E2EError("redis-server on \(port) exited before it answered: \(logTail(port))")
                }
                attempt += 1
                let moved = try lock.withLock {
                    processes[port] = nil
                    chosenPorts[index] = try Self.freePort(besides: chosenPorts)
                    return chosenPorts[index]
                }
                try startNode(moved)
            }
        }
        let create = try await CommandRunner.run(
            "/usr/bin/redis-cli",
            ["--cluster", "create"] + ports.map { "127.0.0.1:\($0)" } + ["--cluster-replicas", "1", "--cluster-yes"],
            in: directory, timeout: .seconds(60))
        guard create.status == 0 else {
            throw E2EError("redis-cli --cluster create failed (\(create.status)): \(create.stdout)\(create.stderr)")
        }
        try await waitUntilHealthy()
    }

    /// Waits until every running node reports `cluster_state:ok`, three masters serve all slots, and `replicas`
    /// replicas follow them with their replication link up.
    func waitUntilHealthy(replicas: Int = 3, timeout: Duration = .seconds(60)) async throws {
        try await eventually("the Redis Cluster is healthy", timeout: timeout) {
            for port in runningPorts {
                let info = try await cli(port, ["CLUSTER", "INFO"])
                guard info.contains("cluster_state:ok"), info.contains("cluster_slots_ok:16384") else {
                    return (false, "\(port): \(info.split(separator: "\r\n").prefix(3).joined(separator: " "))")
                }
            }
            let all = try await nodes()
            let masters = all.filter { $0.isMaster && !$0.slots.isEmpty }
            let following = all.filter { !$0.isMaster && $0.masterID != nil }
            for node in following {
                let info = try await cli(node.port, ["INFO", "replication"])
                guard info.contains("master_link_status:up") else { return (false, "\(node.port): link not up") }
            }
            return (
                masters.count == 3 && following.count == replicas,
                "\(masters.count) masters with slots, \(following.count) replicas"
            )
        }
    }

    var runningPorts: [Int] {
        lock.withLock { processes.filter { ChildExit.status($0.value) == nil }.map(\.key).sorted() }
    }

    /// The nodes as a running node sees them (`CLUSTER NODES`), without failed ones.
    func nodes() async throws -> [Node] {
        guard let port = runningPorts.first else { throw E2EError("no Redis Cluster node is running") }
        let text = try await cli(port, ["CLUSTER", "NODES"])
        return text.split(separator: "\n").compactMap { line -> Node? in
            let f = line.split(separator: " ").map(String.init)
            guard f.count >= 8, !f[2].contains("fail"), let colon = f[1].lastIndex(of: ":"),
                let port = Int(f[1][f[1].index(after: colon)...].prefix { $0.isNumber })
            else { return nil }
            let slots = f.dropFirst(8).compactMap { s -> ClosedRange<Int>? in
                let bounds = s.split(separator: "-").compactMap { Int($0) }
                if bounds.count == 2 { return bounds[0]...bounds[1] }
                return bounds.count == 1 && !s.hasPrefix("[") ? bounds[0]...bounds[0] : nil
            }
            return Node(
                id: f[0], port: port, isMaster: f[2].contains("master"), masterID: f[3] == "-" ? nil : f[3],
                slots: slots)
        }
    }

    /// The port of the master that serves `slot`, and of its replica.
    func shard(ofSlot slot: Int) async throws -> (master: Int, replica: Int) {
        let all = try await nodes()
        guard let master = all.first(where: { $0.isMaster && $0.slots.contains { $0.contains(slot) } }),
            let replica = all.first(where: { $0.masterID == master.id })
        else { throw E2EError("no master with a replica serves slot \(slot): \(all)") }
        return (master.port, replica.port)
    }

    func pause(_ port: Int) { signal(port, SIGSTOP) }
    func resume(_ port: Int) { signal(port, SIGCONT) }

    /// `kill -9` of one node.
    func kill9(_ port: Int) async {
        let p = lock.withLock { processes.removeValue(forKey: port) }
        guard let p else { return }
        kill(p.processIdentifier, SIGKILL)
        _ = await OpsightServer.waitForExit(p, within: .seconds(10))
    }

    func stop() {
        let all = lock.withLock {
            defer { processes.removeAll() }
            return Array(processes.values)
        }
        for p in all where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// `redis-cli -p port args…`, its output trimmed.
    func cli(_ port: Int, _ args: [String]) async throws -> String {
        let r = try await CommandRunner.run(
            "/usr/bin/redis-cli", ["-p", String(port)] + args, in: directory, timeout: .seconds(20))
        guard r.status == 0 else { throw E2EError("redis-cli -p \(port) \(args) failed: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func signal(_ port: Int, _ sig: Int32) {
        if let p = lock.withLock({ processes[port] }) { kill(p.processIdentifier, sig) }
    }

    /// Whether the node on `port` answers PING (true) or exited first (false); throws after 20 s of neither.
    private func answersPing(_ port: Int) async throws -> Bool {
        let node = lock.withLock { processes[port] }
        let deadline = ContinuousClock.now + .seconds(20)
        var last = "never probed"
        while true {
            if let node, ChildExit.status(node) != nil { return false }
            do {
                last = try await cli(port, ["PING"])
                if last == "PONG" { return true }
            } catch {
                last = "\(error)"
            }
            if ContinuousClock.now > deadline {
                throw E2EError("redis-server on \(port) did not answer PING within 20 s: \(last) \(logTail(port))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// The last lines of a node's log.
    private func logTail(_ port: Int) -> String {
        let log = directory.appendingPathComponent(String(port)).appendingPathComponent("redis.log")
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(5).joined(separator: " | ")
    }

    private func startNode(_ port: Int) throws {
        let dir = directory.appendingPathComponent(String(port))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        p.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", dir.path, "--logfile", "redis.log",
            "--daemonize", "no", "--save", "", "--appendonly", "no", "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
            "--cluster-replica-validity-factor", "0", "--cluster-require-full-coverage", "no",
        ]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        lock.withLock { processes[port] = p }
    }

    private static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
