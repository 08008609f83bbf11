import Foundation
import Testing
import PromQL

@testable import Alerting

@Suite struct RuleFileLoadingTests {
    static func errors(_ text: String, file: String = "bad.yml") -> [String] {
        do {
            _ = try RuleSet.load([RuleFileSource(path: file, text: text)])
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    static let rejected: [(String, String, String)] = [
        (
            "unknown key",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up > 0\n        severity: critical\n",
            #"bad.yml:6: group "g", rule "A": unknown field "severity" in rule (expected one of: alert, record, expr, for, keep_firing_for, labels, annotations)"#
        ),
        (
            "duplicate group",
            "groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n",
            #"bad.yml:4: groupname: "g" is repeated in the same file (first on line 2)"#
        ),
        (
            "both alert and record",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        record: b\n        expr: up\n",
            #"bad.yml:4: group "g", rule "b": only one of 'record' and 'alert' must be set"#
        ),
        (
            "neither alert nor record",
            "groups:\n  - name: g\n    rules:\n      - expr: up\n",
            ##"bad.yml:4: group "g", rule "#1": one of 'record' or 'alert' must be set"##
        ),
        (
            "empty expr",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: \"\"\n",
            #"bad.yml:5: group "g", rule "A": field 'expr' must be set in rule"#
        ),
        (
            "PromQL error on the second line of a block",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: |\n          up\n          > )\n",
            #"bad.yml:7: group "g", rule "A": could not parse expression: 2:3: unexpected ')', expected expression"#
        ),
        (
            "invalid duration",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: 5x\n",
            #"bad.yml:6: group "g", rule "A": invalid for "5x": not a valid duration (e.g. 30s, 5m, 1h30m)"#
        ),
        (
            "invalid label name",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          bad-name: x\n",
            #"bad.yml:7: group "g", rule "A": invalid label name: bad-name"#
        ),
        (
            "for on a recording rule",
            "groups:\n  - name: g\n    rules:\n      - record: job:up\n        expr: up\n        for: 5m\n",
            #"bad.yml:6: group "g", rule "job:up": invalid field 'for' in recording rule"#
        ),
        (
            "keep_firing_for on a recording rule",
            "groups:\n  - name: g\n    rules:\n      - record: job:up\n        expr: up\n        keep_firing_for: 5m\n",
            #"bad.yml:6: group "g", rule "job:up": invalid field 'keep_firing_for' in recording rule"#
        ),
        (
            "invalid record name",
            "groups:\n  - name: g\n    rules:\n      - record: 1bad\n        expr: up\n",
            #"bad.yml:4: group "g", rule "1bad": invalid recording rule name: 1bad"#
        ),
        (
            "template that does not parse",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          summary: \"{{ $value | nosuch }}\"\n",
            #"bad.yml:7: group "g", rule "A": annotation "summary": template: __alert_A:1: function "nosuch" not defined"#
        ),
        (
            "undefined template variable",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          team: \"{{ $team }}\"\n",
            #"bad.yml:7: group "g", rule "A": label "team": template: __alert_A:1: undefined variable "$team""#
        ),
        (
            "empty group name",
            "groups:\n  - name: \"\"\n    rules: []\n",
            #"bad.yml:2: groupname must not be empty"#
        ),
        (
            "unknown top-level key",
            "groups: []\nrules: []\n",
            #"bad.yml:2: unknown field "rules" in rule file (expected one of: groups)"#
        ),
    ]

    @Test(arguments: rejected)
    func rejectsInvalidConstructWithFileAndLine(name: String, text: String, expected: String) {
        #expect(Self.errors(text) == [expected], "\(name)")
    }

    @Test func reportsYAMLSyntaxErrorsWithLine() throws {
        let errors = Self.errors("groups:\n  - name: g\n    rules: [\n")
        let error = try #require(errors.first)
        #expect(errors.count == 1)
        #expect(error.hasPrefix("bad.yml:4: yaml: "))
    }

    @Test func returnsEveryErrorOfEveryFile() {
        let first = RuleFileSource(
            path: "a.yml",
            text: "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up >\n        for: 1q\n")
        let second = RuleFileSource(path: "b.yml", text: "groups:\n  - name: h\n    rules:\n      - alert: B\n")
        #expect(throws: ConfigErrors.self) { try RuleSet.load([first, second]) }
        do {
            _ = try RuleSet.load([first, second])
        } catch {
            #expect(error.errors.map { "\($0.file):\($0.line)" } == ["a.yml:5", "a.yml:6", "b.yml:4"])
        }
    }

    /// A rule file that is missing, a directory or not UTF-8 is named with why (the first bad byte's line), beside the
    /// errors of the files that could be read.
    @Test func filesThatCannotBeReadSayWhy() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let latin1 = dir.appendingPathComponent("latin1.yml")
        try Data(Array("groups:\n  - name: caf".utf8) + [0xE9] + Array("\n    rules: []\n".utf8)).write(to: latin1)
        let good = dir.appendingPathComponent("good.yml")
        try Data("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up >\n".utf8).write(to: good)
        do {
            _ = try RuleSet.load(paths: [latin1.path, dir.path, dir.appendingPathComponent("none.yml").path, good.path])
            Issue.record("expected errors")
        } catch {
            let lines = error.errors.map(\.description)
            #expect(lines.count == 4, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("\(latin1.path):2: ") && $0.contains("byte 0xE9 at line 2, column 14") })
            #expect(lines.contains { $0.hasPrefix("\(dir.path):") && $0.contains("is a directory") })
            #expect(lines.contains { $0.contains("none.yml") && $0.contains("does not exist") })
            #expect(lines.contains { $0.hasPrefix("\(good.path):5") }, "the readable file's error is still reported")
        }
    }

    @Test func rejectsGroupNameDuplicatedAcrossFiles() {
        let text = "groups:\n  - name: g\n    rules: []\n"
        do {
            _ = try RuleSet.load([RuleFileSource(path: "a.yml", text: text), RuleFileSource(path: "b.yml", text: text)])
            Issue.record("expected an error")
        } catch {
            #expect(error.description == #"b.yml:2: group "g": group name is already used in a.yml:2"#)
        }
    }

    @Test func parsesEveryField() throws {
        let text = """
            groups:
              - name: g
                interval: 30s
                limit: 10
                rules:
                  - record: job:errors:ratio
                    expr: sum by (job) (opsight_service_error_ratio)
                    labels: {source: opsight}
                  - alert: A
                    expr: up == 0
                    for: 1h30m
                    keep_firing_for: 5m
                    labels: {severity: critical}
                    annotations: {summary: "{{ $labels.job }} down"}
            """
        let set = try RuleSet.load([RuleFileSource(path: "ok.yml", text: text)])
        let group = try #require(set.groups.first)
        #expect(group.interval == .seconds(30))
        #expect(group.limit == 10)
        guard case .recording(let record) = group.rules[0], case .alerting(let alert) = group.rules[1] else {
            Issue.record("wrong rule kinds")
            return
        }
        #expect(record.name == "job:errors:ratio" && record.labels == ["source": "opsight"])
        #expect(alert.holdDuration.milliseconds == 5_400_000)
        #expect(alert.keepFiringFor == .minutes(5))
        #expect(alert.labels.map(\.name) == ["severity"])
        #expect(alert.line == 9)
    }

    @Test func loadsEveryShippedRuleFile() throws {
        let directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("alerts").path
        let paths = RuleFileGlob.expand(["*.yml"], relativeTo: directory)
        #expect(paths.count == 5)
        let set = try RuleSet.load(paths: paths)
        #expect(set.ruleCount == 8)
        #expect(
            set.groups.map(\.name).sorted() == [
                "opsight-errors", "opsight-funnels", "opsight-jobs", "opsight-latency", "opsight-slo",
            ])
    }

    @Test(arguments: [
        ("5m", Int64(300_000)), ("1h30m", 5_400_000), ("0", 0), ("90s", 90_000), ("1d", 86_400_000), ("500ms", 500),
        ("1y", 31_536_000_000), ("2w", 1_209_600_000),
    ])
    func parsesPrometheusDurations(text: String, milliseconds: Int64) {
        #expect(PromDuration(text)?.milliseconds == milliseconds)
    }

    @Test(arguments: ["", "5", "m", "5m1h", "1.5h", "-5m", "5mm", "1h1h"])
    func rejectsInvalidDurations(text: String) {
        #expect(PromDuration(text) == nil)
    }

    @Test(
        arguments: [
            (Int64(5_400_000), "1h30m"), (Int64(0), "0s"), (Int64(1_209_600_000), "2w"), (Int64(86_400_000 * 8), "8d"),
            (Int64(1500), "1s500ms"),
        ] as [(Int64, String)])
    func formatsDurationsAsPrometheus(milliseconds: Int64, text: String) {
        #expect(PromDuration(milliseconds: milliseconds).description == text)
    }
}
