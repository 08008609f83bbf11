import Foundation
import Testing

/// Issue 14: nothing locked the WAL directory, so a second `opsight serve` on the same `wal.dir` would cut the
/// first one's log tail and append beside it. The second now fails at start naming the process that holds it.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct WALLockTests {
    @Test func aSecondServerOnTheSameWALDirectoryFailsNamingTheFirst() async throws {
        try await withOpsightServer("wal-lock") { server, card in
            let owner = try String(contentsOfFile: server.walDirectory + "/LOCK", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            card.check(owner.hasPrefix("pid "), "LOCK names its owner: '\(owner)'")
            let port = try OpsightServer.freePort()
            let second = try await CommandRunner.opsight(
                ["serve", "--config", server.configPath, "--listen", "127.0.0.1:\(port)"], in: server.directory,
                timeout: .seconds(60))
            card.check(second.status != 0, "the second server exited with \(second.status)")
            card.check(
                second.stderr.contains("is in use by another process (\(owner))"),
                "stderr should name the owner '\(owner)': \(second.stderr.suffix(600))")
            // The first one is unharmed.
            let r = try await server.client.ingest(Array(#"{"service":"wal-lock","level":"info","msg":"x"}"#.utf8))
            card.equal(r.status, 200, "ingest into the first server")
        }
    }
}
