import Foundation
import OpsightTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A store a test can take away and bring back on the same port: a private `redis-server` (no persistence, so it
/// comes back empty), or a TCP forwarder in front of the shared PostgreSQL.
final class StoppableStore: @unchecked Sendable {
    let port: Int
    private let arguments: [String]
    private let executable: String
    private let lock = NSLock()
    private var process: Process?

    /// A private Redis on a free port.
    static func redis() throws -> StoppableStore {
        let port = try OpsightServer.freePort()
        return StoppableStore(
            port: port, executable: "/usr/bin/redis-server",
            arguments: ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
    }

    /// A forwarder on a free port to `host:targetPort`.
    static func forwarder(to host: String, port targetPort: Int) throws -> StoppableStore {
        let port = try OpsightServer.freePort()
        let script = E2EEnvironment.packageRoot.appendingPathComponent("scripts/tcp_proxy.py").path
        return StoppableStore(
            port: port, executable: "/usr/bin/env", arguments: ["python3", script, "\(port)", host, "\(targetPort)"])
    }

    private init(port: Int, executable: String, arguments: [String]) {
        self.port = port
        self.executable = executable
        self.arguments = arguments
    }

    deinit { stop() }

    /// Starts it and waits (bounded) until the port accepts connections.
    func start() async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p }
        for _ in 0..<100 {
            if Loopback.accepts(port: port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw E2EError("\(executable) \(arguments.joined(separator: " ")) did not listen on \(port)")
    }

    /// Kills it at once (SIGKILL): connections drop, new ones are refused.
    func stop() {
        guard let p = lock.withLock({ process.take() }) else { return }
        ChildExit.stop(p)
    }
}

/// A TCP socket connected to 127.0.0.1:`port`, or nil; the caller closes it.
func connectLoopback(port: Int) -> Int32? { Loopback.connect(port: port) }
