import Foundation
import Testing

/// `opsight ship` and `opsight query` with what a user gets wrong: the URL, the file, a damaged state file, a collector
/// that is not there. Each says what is wrong at once (no silent retrying, no shipping twice) and exits non-zero.
@Suite struct CommandLineErrorTests {
    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("opsight-cli-\(E2EEnvironment.randomID(8))")
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
        let start = ContinuousClock.now
        let query = try await CommandRunner.opsight(["query", "up", "--url", url], in: dir, timeout: .seconds(30))
        #expect(query.status == 1)
        #expect(query.stderr.contains("cannot reach \(url)"), "\(query.stderr)")
        #expect(ContinuousClock.now - start < .seconds(5), "refused at once, not after retrying the connection")
        let file = dir.appendingPathComponent("one.ndjson")
        try Data(#"{"ts":1,"service":"a"}"#.utf8).write(to: file)
        let ship = try await CommandRunner.opsight(
            ["ship", file.path, "--url", url, "--max-retry-seconds", "2"], in: dir, timeout: .seconds(60))
        #expect(ship.status == 1)
        #expect(ship.stderr.contains("cannot deliver to \(url)/v1/ingest"), "\(ship.stderr)")
        #expect(ship.stderr.contains("giving up after 2s"), "\(ship.stderr)")
    }
}
