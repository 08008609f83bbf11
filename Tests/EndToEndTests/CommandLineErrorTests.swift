import Foundation
import OpsightTestSupport
import Testing

/// `opsight ship` and `opsight query` with what a user gets wrong: the URL, the file, a damaged state file, a collector
/// that is not there. Each says what is wrong at once (no silent retrying, no shipping twice) and exits non-zero.
@Suite struct CommandLineErrorTests {
    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "opsight-cli-\(E2EEnvironment.randomID(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test(arguments: ["http://[::1", "notaurl", "ftp://127.0.0.1:9400", "http://127.0.0.1:9400/?a=1", "http://"])
    func aURLThatIsNotAnHTTPBaseIsRefusedBeforeAnythingIsSent(url: String) async throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("one.ndjson")
        try Data(#"{"ts":1,"service":"a"}"#.utf8).write(to: file)
        for args in [["ship", file.path, "--url", url], ["query", "up", "--url", url]] {
            let r = try await CommandRunner.opsight(args, in: dir, timeout: .seconds(20))
            #expect(r.status != 0)
            #expect(r.stderr.contains("--url '\(url)' is not an http(s) base URL"), "\(args[0]): \(r.stderr)")
        }
    }

    @Test func aDirectoryOrADamagedStateFileIsRefusedAndNothingIsShipped() async throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try OpsightServer.freePort()
        let folder = try await CommandRunner.opsight(["ship", dir.path, "--url", "http://127.0.0.1:\(port)"], in: dir)
        #expect(folder.status != 0)
        #expect(folder.stderr.contains("\(dir.path) is a directory"), "\(folder.stderr)")
        let missing = try await CommandRunner.opsight(
            ["ship", dir.appendingPathComponent("none.ndjson").path, "--url", "http://127.0.0.1:\(port)"], in: dir)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("none.ndjson: it does not exist"), "\(missing.stderr)")
        let file = dir.appendingPathComponent("one.ndjson")
        try Data(#"{"ts":1,"service":"a"}"#.utf8).write(to: file)
        let state = dir.appendingPathComponent("state.json")
        try Data("{\"inode\":".utf8).write(to: state)
        let damaged = try await CommandRunner.opsight(
            ["ship", file.path, "--url", "http://127.0.0.1:\(port)", "--state", state.path], in: dir)
        #expect(damaged.status != 0)
        #expect(damaged.stderr.contains("is not a state file opsight ship wrote"), "\(damaged.stderr)")
        #expect(!damaged.stderr.contains("cannot deliver"), "it stopped before sending anything")
    }

    /// Nothing listens on the port: `query` fails at once, `ship` says what it is waiting for and gives up after
    /// `--max-retry-seconds`.
    @Test func aCollectorThatIsNotThereIsReportedAtOnce() async throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = "http://127.0.0.1:\(try OpsightServer.freePort())"
        // What starting the command costs on this (shared, busy) machine: one that fails on its arguments.
        var start = ContinuousClock.now
        _ = try await CommandRunner.opsight(["query", "up", "--url", "notaurl"], in: dir, timeout: .seconds(60))
        let startup = ContinuousClock.now - start
        start = ContinuousClock.now
        let query = try await CommandRunner.opsight(["query", "up", "--url", url], in: dir, timeout: .seconds(60))
        let took = ContinuousClock.now - start
        #expect(query.status == 1)
        #expect(query.stderr.contains("cannot reach \(url)"), "\(query.stderr)")
        // Retrying the connection until the 10 s connect timeout (the client's default) would add ~10 s.
        #expect(took - startup < .seconds(5), "refused at once: \(took) against \(startup) to start")
        let file = dir.appendingPathComponent("one.ndjson")
        try Data(#"{"ts":1,"service":"a"}"#.utf8).write(to: file)
        let ship = try await CommandRunner.opsight(
            ["ship", file.path, "--url", url, "--max-retry-seconds", "2"], in: dir, timeout: .seconds(60))
        #expect(ship.status == 1)
        #expect(ship.stderr.contains("cannot deliver to \(url)/v1/ingest"), "\(ship.stderr)")
        #expect(ship.stderr.contains("giving up after 2s"), "\(ship.stderr)")
    }

    /// This process's environment without `OPSIGHT_*` (the test command sets store URLs that would override the file).
    static func withoutOpsightVariables() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OPSIGHT_") }
    }

    /// A configuration whose stores listen nowhere (free loopback ports).
    static func deadStoresConfig(in dir: URL) throws -> URL {
        let config = dir.appendingPathComponent("opsight.yaml")
        let yaml = """
            listen: 127.0.0.1:\(try OpsightServer.freePort())
            redis_url: redis://127.0.0.1:\(try OpsightServer.freePort())/0
            database_url: postgres://nobody@127.0.0.1:\(try OpsightServer.freePort())/none
            wal: {dir: \(dir.appendingPathComponent("wal").path)}
            """
        try Data(yaml.utf8).write(to: config)
        return config
    }

    /// postgres-nio retries a refused connection for ever; `migrate` is a one-shot command and gives up.
    @Test func migrateGivesUpWhenPostgreSQLDoesNotAnswer() async throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try Self.deadStoresConfig(in: dir)
        let start = ContinuousClock.now
        let r = try await CommandRunner.run(
            E2EEnvironment.binaryPath, ["migrate", "--config", config.path, "--timeout", "2"],
            environment: Self.withoutOpsightVariables(), in: dir, timeout: .seconds(30))
        #expect(r.status == 1)
        #expect(r.stderr.contains("did not answer within 2 s (--timeout)"), "\(r.stderr.suffix(400))")
        // Its own 2 s, not postgres-nio's retrying for ever (the runner's 30 s): a debug binary starting beside a
        // full parallel test run took 16 s in all once.
        #expect(ContinuousClock.now - start < .seconds(25))
    }

    /// SIGTERM while `serve` still waits for its stores stops it cleanly: exit 0, a notice, no error.
    @Test func aStopSignalWhileWaitingForTheStoresIsACleanExit() async throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try Self.deadStoresConfig(in: dir)
        let err = dir.appendingPathComponent("serve.err")
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: E2EEnvironment.binaryPath)
        p.arguments = ["serve", "--config", config.path]
        p.environment = Self.withoutOpsightVariables()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        // Until its service group runs (its PostgreSQL client reports the refused connection): a signal before that
        // would meet no handler yet.
        let ready = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < ready {
            let text = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
            if text.contains("psql_error") || text.contains("waiting for stores") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(p.processIdentifier, SIGTERM)
        let status = await ChildExit.wait(p, within: .seconds(15))
        if status == nil { kill(p.processIdentifier, SIGKILL) }
        #expect(status != nil, "serve stopped within 15 s of SIGTERM")
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(stderr.suffix(600))")
        #expect(stderr.contains("stopped while waiting for the stores"), "\(stderr.suffix(600))")
        #expect(!stderr.contains("Error:") && !stderr.contains("CancellationError"), "\(stderr.suffix(600))")
    }
}
