import Foundation
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
