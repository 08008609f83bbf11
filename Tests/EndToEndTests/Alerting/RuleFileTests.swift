import Foundation
import OpsightTestSupport
import Testing

/// The shipped rule files pass promtool (`check rules` and their `test rules` unit tests) and `opsight rules
/// check`; a bad file is refused with file:line, by the CLI and by a reload, which keeps the rules in force.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct RuleFileTests {
    static var alertsDir: URL { E2EEnvironment.packageRoot.appendingPathComponent("alerts") }

    static func shippedFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: alertsDir.path).filter { $0.hasSuffix(".yml") }.sorted()
            .map { alertsDir.appendingPathComponent($0).path }
    }

    @Test func shippedRulesPassPromtoolAndTheirUnitTests() async throws {
        try #require(Promtool.available, "promtool is not installed (scripts/stores.sh deps installs it)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "opsight-promtool-\(E2EEnvironment.randomID(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try Self.shippedFiles()
        #expect(files.count >= 5)
        let check = try await Promtool.run(["check", "rules"] + files, in: dir, workingDirectory: Self.alertsDir)
        #expect(check.status == 0, "promtool check rules:\n\(check.stdout)\(check.stderr)")
        let tests = try FileManager.default.contentsOfDirectory(
            atPath: Self.alertsDir.appendingPathComponent("tests").path
        )
        .filter { $0.hasSuffix(".yml") }.sorted().map { "tests/" + $0 }
        #expect(tests.count == files.count, "one promtool unit test file per rule file")
        let unit = try await Promtool.run(["test", "rules"] + tests, in: dir, workingDirectory: Self.alertsDir)
        #expect(unit.status == 0, "promtool test rules:\n\(unit.stdout)\(unit.stderr)")
    }

    @Test func opsightRulesCheckAcceptsTheShippedFilesAndLocatesErrors() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "opsight-rules-\(E2EEnvironment.randomID(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try await CommandRunner.opsight(["rules", "check"] + (try Self.shippedFiles()), in: dir)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.components(separatedBy: "SUCCESS").count - 1 == (try Self.shippedFiles()).count)

        let bad = dir.appendingPathComponent("bad.yml")
        try Data(
            """
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: up > 1
                    for: 5x
                  - alert: B
                    expr: rate(x[5m]) > 1

            """.utf8
        ).write(to: bad)
        let result = try await CommandRunner.opsight(["rules", "check", bad.path], in: dir)
        #expect(result.status == 1)
        #expect(result.stdout.contains("\(bad.path):6:"), "the bad duration is located: \(result.stdout)")
        #expect(result.stdout.contains("\(bad.path):8:"), "the range vector is located: \(result.stdout)")
        #expect(result.stdout.contains("FAILED"))
    }

    @Test func aBadReloadKeepsTheRulesInForceAndAGoodOneReplacesThem() async throws {
        try await withOpsightServer(
            "rules-reload",
            configure: { server in
                let rules = server.directory.appendingPathComponent("rules.yml")
                try Data(Self.ruleFile(["First"]).utf8).write(to: rules)
                server.extraConfig = "alerting: {rule_files: [rules.yml], evaluation_interval: 1s}\n"
            }
        ) { server, card in
            let rules = server.directory.appendingPathComponent("rules.yml")
            func names() async throws -> String {
                try await server.client.request(.get, "/api/v1/rules", token: server.readToken).text
            }
            card.check(try await names().contains("\"name\":\"First\""), "the first rule is loaded")
            try Data("groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: 'sum(('\n".utf8).write(
                to: rules)
            let refused = try await server.client.request(.post, "/api/v1/rules/reload", token: server.opsToken)
            card.equal(refused.status, 422, "a bad reload is refused: \(refused.text)")
            card.check(refused.text.contains("rules.yml:5"), "with file:line: \(refused.text)")
            card.check(try await names().contains("\"name\":\"First\""), "the old rules stay in force")
            let forbidden = try await server.client.request(.post, "/api/v1/rules/reload", token: server.readToken)
            card.equal(forbidden.status, 403, "reload needs the admin scope")
            try Data(Self.ruleFile(["First", "Second"]).utf8).write(to: rules)
            let ok = try await server.client.request(.post, "/api/v1/rules/reload", token: server.opsToken)
            card.equal(ok.status, 200, "a good reload: \(ok.text)")
            card.check(try await names().contains("\"name\":\"Second\""), "the new rule is loaded")
            // SIGHUP reloads too, as Prometheus does.
            try Data(Self.ruleFile(["First", "Second", "Third"]).utf8).write(to: rules)
            server.signal(SIGHUP)
            try await eventually("SIGHUP reloads the rules", timeout: .seconds(10)) {
                let text = try await names()
                return (text.contains("\"name\":\"Third\""), text)
            }
        }
    }

    @Test func silencesAreCreatedListedAndExpired() async throws {
        try await withOpsightServer("silences") { server, card in
            let now = Date()
            let f = ISO8601DateFormatter()
            let body = """
                {"matchers":[{"name":"service","value":"checkout","isRegex":false,"isEqual":true}],
                 "startsAt":"\(f.string(from: now))","endsAt":"\(f.string(from: now.addingTimeInterval(3600)))",
                 "createdBy":"e2e","comment":"maintenance"}
                """
            let denied = try await server.client.request(
                .post, "/api/v1/silences", token: server.readToken, headers: [("Content-Type", "application/json")],
                body: Array(body.utf8))
            card.equal(denied.status, 403, "creating a silence needs the admin scope")
            let created = try await server.client.request(
                .post, "/api/v1/silences", token: server.opsToken, headers: [("Content-Type", "application/json")],
                body: Array(body.utf8))
            card.equal(created.status, 200, "created: \(created.text)")
            let id =
                (try? JSONSerialization.jsonObject(with: Data(created.text.utf8)) as? [String: Any])?["silenceID"]
                as? String ?? ""
            let listed = try await server.client.request(.get, "/api/v1/silences", token: server.readToken)
            card.check(
                listed.text.contains(id) && listed.text.contains("\"state\":\"active\""),
                "listed active: \(listed.text)")
            let expired = try await server.client.request(.delete, "/api/v1/silences/\(id)", token: server.opsToken)
            card.equal(expired.status, 200, "expired: \(expired.text)")
            let after = try await server.client.request(.get, "/api/v1/silences/\(id)", token: server.readToken)
            card.check(after.text.contains("\"state\":\"expired\""), "now expired: \(after.text)")
            let bad = try await server.client.request(
                .post, "/api/v1/silences", token: server.opsToken, headers: [("Content-Type", "application/json")],
                body: Array(#"{"matchers":[],"startsAt":"x","endsAt":"y","createdBy":"e2e","comment":""}"#.utf8))
            card.equal(bad.status, 400, "a malformed silence is a 400: \(bad.text)")
        }
    }

    static func ruleFile(_ names: [String]) -> String {
        "groups:\n  - name: g\n    rules:\n"
            + names.map { "      - alert: \($0)\n        expr: opsight_service_error_ratio{window=\"5m\"} > 0.5\n" }
            .joined()
    }
}
