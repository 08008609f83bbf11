import Foundation
import Testing

/// SPEC §10: bad configuration fails at start with file:line and the reason, and exits non-zero.
@Suite struct ConfigErrorTests {
    static let cases: [(yaml: String, expected: String)] = [
        ("listen: 127.0.0.1:9400\nwal:\n  dirr: ./x\n", #":3:3: unknown field "dirr" in wal (expected one of: dir, max_bytes)"#),
        ("errors: {status_at_least: [500]}\n", ":1:27: errors.status_at_least must be a non-negative integer"),
        ("raw_events: {enabled: maybe}\n", ":1:23: raw_events.enabled must be true or false"),
        ("windows: 5m\n", ":1:10: windows must be a list, not a scalar"),
        ("listen: nowhere\n", ":1:9: listen: listen 'nowhere' must be host:port"),
        ("wal: {dir: ./x, max_bytes: lots}\n", "wal.max_bytes: expected a size such as 1GiB"),
        ("windows: [1m, 7s]\n", ":1:15: windows[1]: windows must be multiples of 10s"),
        ("auth:\n  tokens:\n    - {name: a, token: b, scopes: [write]}\n", "scopes[0]: unknown scope 'write'"),
        ("errors: {status_at_least: 700}\n", "errors.status_at_least: must be an HTTP status 100–599"),
        ("listen: [unclosed\n", "invalid YAML"),
        ("funnels:\n  - {name: f, window: 1h, steps: [a]}\n", ":2:34: funnels[0].steps: funnel 'f' needs at least two steps"),
        (
            "funnels:\n  - {name: f, window: 1h, steps: [a, b]}\n  - {name: f, window: 1h, steps: [a, b]}\n",
            ":3:12: funnels[1].name: duplicate funnel name 'f'"
        ),
        ("funnels:\n  - {name: f, window: 1h, steps: [a, {kind: job, colour: red}]}\n", "unknown step field 'colour'"),
        ("funnels:\n  - {name: f, steps: [a, b]}\n", "funnels[0]: funnel 'f' needs a window"),
        ("funnels:\n  - {name: f, key: route, window: 1h, steps: [a, b]}\n", "funnel key 'route' is a schema field"),
        (
            "funnels:\n  - {name: f, key: user_id, window: 1h, steps: [a, b]}\n  - {name: g, key: team, window: 1h, steps: [a, b]}\n",
            "funnel key 'team' differs from 'user_id' of funnel 'f'"
        ),
        ("funnels:\n  - {name: f, window: 1h, steps: [a, {name: b}]}\n", "a step matcher needs at least one field besides name"),
        (
            "funnels:\n  - {name: f, window: 1h, steps: [a, b]}\n  - {name: g, key: user_id, window: 1h, steps: [a, b]}\n",
            "funnel key 'user_id' differs from 'entity' of funnel 'f'; all funnels share one key field"
        ),
        ("funnels:\n  - {name: f, window: 1h, steps: [a, '']}\n", "a step name must not be empty"),
        (
            "aliases: {user_id: job_id}\nfunnels:\n  - {name: f, key: user_id, window: 1h, steps: [a, b]}\n",
            "funnel key 'user_id' is also an alias of 'job_id'"
        ),
        ("retention: {rollups: 12h}\n", "retention.rollups: rollups must be kept at least the longest window and 2 days"),
        ("retention: {rollups_downsample_after: 1d}\n", "retention.rollups_downsample_after: must be at least 2d"),
        (
            "retention: {rollups: 10d, rollups_downsample_after: 20d}\n",
            "rollups_downsample_after must not be longer than rollups"
        ),
        ("retention: {quarantine_bytes: 1KiB}\n", "retention.quarantine_bytes: must be at least 1MiB"),
        (
            "alerting:\n  rule_files: [x]\n  evaluation_interval: soon\n",
            #":3:24: invalid alerting.evaluation_interval "soon": not a valid duration (e.g. 30s, 5m, 1h30m)"#
        ),
    ]

    @Test(arguments: cases.indices)
    func badConfigurationFailsAtStartNamingFileLineAndReason(index: Int) async throws {
        let (yaml, expected) = Self.cases[index]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("opsight-config-\(E2EEnvironment.randomID(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("opsight.yaml")
        try Data(yaml.utf8).write(to: file)
        let result = try await CommandRunner.opsight(["serve", "--config", file.path], in: dir, timeout: .seconds(30))
        #expect(result.status == 1)
        #expect(result.stderr.contains(file.path), "stderr: \(result.stderr)")
        #expect(result.stderr.contains(expected), "stderr: \(result.stderr)")
    }

    /// A configuration file that is not UTF-8 names the first bad byte's line and column; a directory says it is one.
    @Test func aFileThatIsNotTextOrADirectoryIsNamedSo() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("opsight-config-\(E2EEnvironment.randomID(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("opsight.yaml")
        try Data(Array("listen: 127.0.0.1:9400\nwal: {dir: ./x}\nname: \"".utf8) + [0xC3, 0x28] + Array("\"\n".utf8)).write(to: file)
        let latin = try await CommandRunner.opsight(["serve", "--config", file.path], in: dir, timeout: .seconds(30))
        #expect(latin.status == 1)
        #expect(latin.stderr.contains("\(file.path): cannot read the configuration file: it is not UTF-8 text: byte 0xC3 at line 3, column 8"), "stderr: \(latin.stderr)")
        let folder = try await CommandRunner.opsight(["serve", "--config", dir.path], in: dir, timeout: .seconds(30))
        #expect(folder.status == 1)
        #expect(folder.stderr.contains("it is a directory, not a file"), "stderr: \(folder.stderr)")
    }

    /// The example configuration `make run` uses (funnel, rules, receivers) loads: `opsight migrate` reads all
    /// of it before it touches the database.
    @Test(.enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
    func theExampleConfigurationLoads() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("opsight-example-\(E2EEnvironment.randomID(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let schema = "e2e_example_\(E2EEnvironment.randomID(8))"
        let example = E2EEnvironment.packageRoot.appendingPathComponent("opsight.example.yaml").path
        let result = try await CommandRunner.opsight(
            ["migrate", "--config", example],
            environment: ["OPSIGHT_DATABASE_URL": E2EEnvironment.databaseURL!, "OPSIGHT_DATABASE_SCHEMA": schema],
            in: dir, timeout: .seconds(60))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("applied migrations"), "stdout: \(result.stdout)")
        await StoreCleanup.remove(schema: schema, keyPrefix: "\(schema)_unused")
    }
}
