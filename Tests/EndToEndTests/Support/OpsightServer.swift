import AsyncHTTPClient
import Foundation
import OpsightTestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One `opsight serve` process with its own temporary directory, PostgreSQL schema, Redis key prefix and
/// tokens; restartable on the same WAL directory, schema and prefix (the crash test).
///
/// Output of every run is appended to `opsight.log` in the directory, whose tail is printed when a test fails.
/// The process is always ended: `stop()` sends SIGTERM and SIGKILL after 5 s, `deinit` SIGKILLs a leftover.
final class OpsightServer: @unchecked Sendable {
    /// What happened when the server was asked to stop.
    enum StopOutcome: Equatable {
        case notRunning
        /// Exited by itself after SIGTERM, with this status.
        case exited(Int32)
        /// Still running 5 s after SIGTERM, so it was killed.
        case killed
    }

    let directory: URL
    let schema: String
    let keyPrefix: String
    /// Token with the ingest, read and admin scopes.
    let opsToken: String
    /// Token with the read scope only.
    let readToken: String
    private let lock = NSLock()
    private var process: Process?
    private var currentPort = 0
    /// YAML appended to the generated configuration (set before `start`), e.g. an `alerting:` block.
    var extraConfig = ""
    /// Stores other than the test stores (set before `start`), e.g. a private Redis the test stops.
    var redisURL: String?
    var databaseURL: String?
    /// More entries of `auth.tokens` (set before `start`), one flow mapping per line, e.g. one naming `${VAR}`.
    var extraTokens: [String] = []
    /// More environment variables for the process (set before `start`).
    var environment: [String: String] = [:]
    /// The port every start listens on (set before `start`), e.g. for a load balancer in front; a fresh one if nil.
    var fixedPort: Int?

    var configPath: String { directory.appendingPathComponent("opsight.yaml").path }
    var logPath: String { directory.appendingPathComponent("opsight.log").path }
    var walDirectory: String { directory.appendingPathComponent("wal").path }
    var port: Int { lock.withLock { currentPort } }
    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// A client of this server (follows restarts: the port is read at each call).
    var client: OpsightClient { OpsightClient(server: self) }

    /// Creates the directory and identities; does not start anything. With `sharing`, the server uses that
    /// one's schema, key prefix and tokens (a second collector on the same stores), with its own WAL.
    init(label: String, sharing other: OpsightServer? = nil) throws {
        let id = E2EEnvironment.randomID()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("opsight-e2e-\(label)-\(id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        schema = other?.schema ?? "e2e_\(id)"
        keyPrefix = other?.keyPrefix ?? "e2e_\(id)"
        opsToken = other?.opsToken ?? "t-\(E2EEnvironment.randomID(24))"
        readToken = other?.readToken ?? "r-\(E2EEnvironment.randomID(24))"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    }

    deinit {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }

    /// Starts the server on a fresh free port and waits (bounded) until `GET /readyz` answers 200.
    func start(timeout: Duration = .seconds(30)) async throws {
        let port = try fixedPort ?? Self.freePort()
        let config = """
            listen: 127.0.0.1:\(port)
            database_schema: \(schema)
            redis_key_prefix: \(keyPrefix)
            wal: {dir: \(walDirectory), max_bytes: 1GiB}
            auth:
              tokens:
                - {name: ops, token: "\(opsToken)", scopes: [ingest, read, admin]}
                - {name: reader, token: "\(readToken)", scopes: [read]}

            """ + extraTokens.map { "    - \($0)\n" }.joined() + extraConfig
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
        appendToLog("=== e2e: starting opsight serve on 127.0.0.1:\(port) ===")

        let p = Process()
        p.executableURL = URL(fileURLWithPath: E2EEnvironment.binaryPath)
        p.arguments = ["serve", "--config", configPath]
        var env = ProcessInfo.processInfo.environment
        env["OPSIGHT_REDIS_URL"] = redisURL ?? E2EEnvironment.redisURL
        env["OPSIGHT_DATABASE_URL"] = databaseURL ?? E2EEnvironment.databaseURL
        // These would override the isolation the configuration file sets up.
        for name in ["OPSIGHT_LISTEN", "OPSIGHT_WAL_DIR", "OPSIGHT_DATABASE_SCHEMA", "OPSIGHT_REDIS_KEY_PREFIX"] {
            env[name] = nil
        }
        env.merge(environment) { $1 }
        p.environment = env
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        guard FileManager.default.isExecutableFile(atPath: E2EEnvironment.binaryPath) else {
            throw E2EError("no opsight binary at \(E2EEnvironment.binaryPath): run `swift build` or set OPSIGHT_BIN")
        }
        try p.run()
        try? log.close()
        lock.withLock {
            process = p
            currentPort = port
        }

        // One more look after the deadline: a test process whose pool threads were held elsewhere may not have run
        // this loop for most of the time, and a server that is ready by then is ready.
        let deadline = ContinuousClock.now + timeout
        var lastProblem = "no answer yet"
        while true {
            let late = ContinuousClock.now >= deadline
            if let status = ChildExit.status(p) {
                throw E2EError("opsight exited with status \(status) before it was ready\n\(logTail())")
            }
            do {
                let r = try await client.request(.get, "/readyz", token: nil, timeout: .seconds(2))
                if r.status == 200 { return }
                lastProblem = "readyz answered \(r.status): \(r.text)"
            } catch {
                lastProblem = "\(error)"
            }
            if late { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw E2EError("opsight was not ready after \(timeout): \(lastProblem)\n\(logTail())")
    }

    /// Sends SIGTERM, then SIGKILL if the process is still running after 5 s.
    @discardableResult
    func stop() async -> StopOutcome {
        guard let p = takeProcess() else { return .notRunning }
        if let status = ChildExit.status(p) { return .exited(status) }
        p.terminate()
        let signalled = ContinuousClock.now
        if let status = await ChildExit.wait(p, within: .seconds(5)) {
            let took = (ContinuousClock.now - signalled).formatted(.units(allowed: [.milliseconds]))
            appendToLog("=== e2e: opsight exited with status \(status) \(took) after SIGTERM ===")
            return .exited(status)
        }
        kill(p.processIdentifier, SIGKILL)
        _ = await Self.waitForExit(p, within: .seconds(10))
        appendToLog("=== e2e: opsight did not exit within 5 s of SIGTERM; killed ===")
        return .killed
    }

    /// `kill -9`: the crash the write-ahead log must survive.
    func crash() async {
        guard let p = takeProcess() else { return }
        kill(p.processIdentifier, SIGKILL)
        _ = await Self.waitForExit(p, within: .seconds(10))
        appendToLog("=== e2e: opsight killed with SIGKILL ===")
    }

    /// Sends `signal` (e.g. SIGHUP) to the running process.
    func signal(_ number: Int32) {
        lock.withLock {
            if let p = process, p.isRunning { _ = kill(p.processIdentifier, number) }
        }
    }

    /// Whether the process is alive.
    var isRunning: Bool { lock.withLock { process.map { ChildExit.status($0) == nil } ?? false } }

    /// The last `lines` lines the server printed, for failure reports.
    func logTail(lines: Int = 60) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)"
        let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
        return "--- last \(tail.count) lines of \(logPath) ---\n" + tail.joined(separator: "\n")
    }

    /// Deletes the temporary directory, the schema and the Redis keys (after a passing test; a failing one keeps
    /// them for inspection).
    func removeData() async {
        try? FileManager.default.removeItem(at: directory)
        await StoreCleanup.remove(schema: schema, keyPrefix: keyPrefix)
    }

    private func takeProcess() -> Process? {
        lock.withLock {
            defer { process = nil }
            return process
        }
    }

    private func appendToLog(_ line: String) {
        guard let h = FileHandle(forWritingAtPath: logPath) else { return }
        h.seekToEndOfFile()
        h.write(Data((line + "\n").utf8))
        try? h.close()
    }

    static func waitForExit(_ p: Process, within limit: Duration) async -> Bool {
        await ChildExit.wait(p, within: limit) != nil
    }

    /// A port nothing listens on: bind port 0 on loopback, read the port, close.
    static func freePort() throws -> Int { try Loopback.freePort() }
}

/// A failure of the test harness itself (not of an expectation).
struct E2EError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
