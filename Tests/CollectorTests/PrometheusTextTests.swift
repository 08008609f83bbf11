import Foundation
import Testing

@testable import QueryModel

/// The exposition's bytes: label values escaped as the text format 0.0.4 requires (`\`, `"`, newline), anything else
/// (non-ASCII included) kept as it is, HELP escaped, non-finite samples left out.
@Suite struct PrometheusTextTests {
    @Test func labelValuesAreEscapedAndOtherTextKept() {
        var text = PrometheusText()
        text.family("m", type: "gauge", help: "a \\ b\nc")
        text.sample("m", labels: [("route", "/a\\b\"c\nd"), ("service", "é✓ \u{1F600}")], 1.5)
        text.sample("m", labels: [("route", "x")], .nan)
        text.sample("m", labels: [], 3)
        #expect(
            text.output
                == "# HELP m a \\\\ b\\nc\n# TYPE m gauge\n"
                + "m{route=\"/a\\\\b\\\"c\\nd\",service=\"é✓ \u{1F600}\"} 1.5\n"
                + "m 3\n")
        #expect(text.bytes == Array(text.output.utf8))
    }

    /// HELP escaping equals Foundation's replacement of `\` then newline, on texts with and without them.
    @Test func helpEscapingEqualsTheReplacements() {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["\\", "\n", "n", "a", "é", "\u{1F600}", " ", "\"", "\r", "\u{0}"]
        var texts = ["", "plain help", "\\", "\n", "\\n", "end\\"]
        for _ in 0..<500 { texts.append((0..<Int.random(in: 0...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()) }
        for t in texts {
            let reference = t.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            #expect(PrometheusText.escapeHelp(t) == reference, "\(t.debugDescription)")
        }
    }
}
