import Foundation
import OpsightMetrics
import Testing

@testable import PromQL

@Suite struct LabelMatcherTests {
    /// (operator, value or pattern, candidate, matches).
    static let cases: [(LabelMatcher.Operator, String, String, Bool)] = [
        (.equal, "api", "api", true), (.equal, "api", "API", false), (.equal, "", "", true),
        (.notEqual, "api", "web", true), (.notEqual, "api", "api", false), (.notEqual, "", "", false),
        (.regexMatch, "foo", "foo", true), (.regexMatch, "foo", "foobar", false), (.regexMatch, "foo", "xfoo", false),
        (.regexMatch, "a|b", "a", true), (.regexMatch, "a|b", "ab", false), (.regexMatch, "a|", "", true),
        (.regexMatch, ".*", "", true), (.regexMatch, ".+", "", false), (.regexMatch, ".+", "x", true),
        (.regexMatch, "a.c", "a\nc", true), (.regexMatch, "foo.*", "foobar", true),
        (.regexMatch, "foo.*", "xfoo", false),
        (.regexMatch, "(?i)API", "api", true), (.regexMatch, #"a\.b"#, "a.b", true),
        (.regexMatch, #"a\.b"#, "axb", false),
        (.regexMatch, "/users|/orders", "/orders", true), (.regexMatch, "2..", "200", true),
        (.regexMatch, "2..", "2000", false),
        (.regexMatch, "a|ab", "ab", true), (.regexMatch, "x+", "x\n", false),
        (.regexNoMatch, "api|web", "worker", true), (.regexNoMatch, "api|web", "web", false),
        (.regexNoMatch, ".*", "", false),
    ]

    @Test(arguments: cases)
    func matchesAsPrometheus(op: LabelMatcher.Operator, value: String, candidate: String, expected: Bool) throws {
        #expect(try LabelMatcher(name: "l", op: op, value: value).matches(candidate) == expected)
    }

    /// The fast paths agree with the general regex engine on every candidate.
    @Test(arguments: [".*", ".+", "foo", "a|b|c", "", "a|", "|", "é|ü", "GET|POST|", "5m"])
    func fastPathsAgreeWithRegexEngine(pattern: String) throws {
        let fast = try LabelRegex(pattern)
        let general = LabelRegex.compiled(try RE2Pattern(pattern))
        if case .compiled = fast { Issue.record("no fast path for \(pattern)") }
        let candidates = ["", "a", "b", "c", "ab", "foo", "foox", "é", "ü", "GET", "POST", "5m", "|", "\n", "x\ny"]
        for candidate in candidates {
            #expect(
                fast.matches(candidate) == general.matches(candidate), "\(pattern) on \(candidate.debugDescription)")
        }
    }

    /// `filter` keeps exactly the samples every matcher matches one by one, in order, whatever the values repeat or
    /// alternate (its answers are kept per label), with labels absent (matched as empty, so the layouts of names
    /// differ from sample to sample), values holding NUL bytes, the same label asked by two matchers, and in every
    /// other round hundreds of distinct values (the answers' table grows).
    @Test func filterKeepsWhatEachMatcherMatches() throws {
        var rng = SplitMix64(seed: 41)
        let values = [
            "", "a", "ab", "/api/v1/x", "/api/v2/x", "é", "a\u{0}b", "a long value with a \u{0} in it, past 15 bytes",
        ]
        let many = values + (0..<400).map { "/api/v\($0 % 3)/route-\($0)" }
        let names = ["service", "route", "x"]
        for round in 0..<200 {
            let pool = round % 2 == 0 ? values : many
            let samples = (0..<Int.random(in: 0...(round % 2 == 0 ? 60 : 1_500), using: &rng)).map { i in
                Sample(
                    labels: Labels(names.map { ($0, pool.randomElement(using: &rng)!) }),
                    value: Double(i))
            }
            let matchers = try (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                try LabelMatcher(
                    name: names.randomElement(using: &rng)!,
                    op: LabelMatcher.Operator.allCases.randomElement(using: &rng)!,
                    value: ["", "a", "a.*", "/api/v1/.*", ".+", "é|ab"].randomElement(using: &rng)!)
            }
            let expected = samples.filter { s in matchers.allSatisfy { $0.matches(s.labels) } }
            #expect(LabelMatcher.filter(samples, matchers) == expected, "\(matchers)")
        }
    }

    @Test func treatsMissingLabelAsEmpty() throws {
        let labels: Labels = ["__name__": "m", "a": "1"]
        #expect(try LabelMatcher(name: "b", op: .equal, value: "").matches(labels))
        #expect(try LabelMatcher(name: "b", op: .regexMatch, value: ".*").matches(labels))
        #expect(try !LabelMatcher(name: "b", op: .notEqual, value: "").matches(labels))
        #expect(LabelMatcher(name: "__name__", equalTo: "m").matches(labels))
    }

    @Test func rejectsInvalidRegex() {
        #expect(throws: PromQLError.self) { try LabelMatcher(name: "a", op: .regexMatch, value: "(") }
        #expect(throws: PromQLError.self) { try LabelMatcher(name: "a", op: .regexNoMatch, value: "[z-a]") }
        // `\C` is RE2's any-byte escape, which Go's regexp (Prometheus's) refuses; `\\C` is a backslash and a C.
        #expect(throws: PromQLError.self) { try LabelMatcher(name: "a", op: .regexMatch, value: #"a\C"#) }
        #expect(throws: PromQLError.self) { try LabelMatcher(name: "a", op: .regexMatch, value: #"[\C]"#) }
        let literal = try? LabelMatcher(name: "a", op: .regexMatch, value: #"a\\C"#)
        #expect(literal?.matches(#"a\C"#) == true)
    }

    @Test func comparesByNameOperatorAndValue() throws {
        let first = try LabelMatcher(name: "a", op: .regexMatch, value: "x.*")
        let second = try LabelMatcher(name: "a", op: .regexMatch, value: "x.*")
        #expect(first == second)
        #expect(Set([first, second]).count == 1)
        #expect(first != (try LabelMatcher(name: "a", op: .regexNoMatch, value: "x.*")))
        #expect(first.description == #"a=~"x.*""#)
    }
}
