import Testing

@testable import PromQL

@Suite struct NumberLiteralTests {
    /// Literal → value, by Prometheus's rules (Go `ParseInt(s, 0, 64)` then `ParseFloat`).
    static let literals: [(String, Double)] = [
        ("0", 0), ("42", 42), ("-2.43", -2.43), ("+7", 7), ("3.4e-9", 3.4e-9), ("1E3", 1000), ("2e+2", 200),
        (".5", 0.5), ("5.", 5), ("0x8f", 143), ("0X_1F", 31), ("1_000_000", 1_000_000), ("0.000_1", 0.0001),
        ("010", 8), ("09", 9), ("Inf", .infinity), ("-inf", -.infinity), ("+INF", .infinity),
        ("5m", 300), ("1h30m", 5400), ("100ms", 0.1), ("1d", 86400), ("2w", 1_209_600), ("1y", 31_536_000),
        ("14.4 * 0.001", 14.4 * 0.001),
    ]

    @Test(arguments: literals)
    func parsesNumbers(text: String, value: Double) async throws {
        let result = try await Evaluator(source: InMemorySampleSource()).evaluate(text, at: 0)
        #expect(result.scalar == value)
    }

    /// Literals Prometheus reads as 0, the largest finite value or 2^63 − 1 are accepted; those Go's `ParseFloat`
    /// or `ParseInt` refuse as out of range are refused with the position, as `promtool check rules` does
    /// (checked against promtool 2.x: `1.8e308` and `0x8000000000000000` fail, `1e-400` and `99999999999999999999`
    /// pass).
    @Test func outOfRangeLiteralsAreRefusedAsPrometheusDoes() async throws {
        let source = InMemorySampleSource()
        for (text, value) in [
            ("1e-400", 0.0), ("1.7976931348623157e308", Double.greatestFiniteMagnitude),
            ("0x7FFFFFFFFFFFFFFF", 9_223_372_036_854_775_807.0), ("99999999999999999999", 1e20),
        ] {
            #expect(try await Evaluator(source: source).evaluate(text, at: 0).scalar == value, "\(text)")
        }
        for text in ["1e400", "1.8e308", "1.7976931348623159e308", "0x8000000000000000", "0xFFFFFFFFFFFFFFFFFFFF"] {
            #expect(throws: PromQLError.self, "\(text)") { try Parser.parse("up > \(text)") }
            do {
                _ = try Parser.parse("up > \(text)")
            } catch {
                #expect(error.description.contains("1:6: error parsing number"), "\(error)")
            }
        }
    }

    @Test(arguments: ["NaN", "nan", "-NaN"])
    func parsesNaN(text: String) throws {
        guard case .number(let literal) = try Parser.parse(text) else {
            Issue.record("\(text) is not a number literal")
            return
        }
        #expect(literal.value.isNaN)
    }

    /// Value → Prometheus's string form in API responses.
    static let formats: [(Double, String)] = [
        (0, "0"), (-0.0, "-0"), (1, "1"), (-2.5, "-2.5"), (0.1, "0.1"), (1e-6, "0.000001"), (1e-7, "1e-07"),
        (123_456_789, "123456789"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e300, "1.5e+300"),
        (0.0625, "0.0625"), (1.0 / 3, "0.3333333333333333"), (.infinity, "+Inf"), (-.infinity, "-Inf"),
        (.nan, "NaN"), (.leastNonzeroMagnitude, "5e-324"), (0.000123, "0.000123"),
    ]

    @Test(arguments: formats)
    func formatsValuesAsPrometheus(value: Double, expected: String) {
        #expect(FloatFormat.prometheus(value) == expected)
    }

    @Test(arguments: [0.1, 1.0 / 3, 2.5e-12, 6.02214076e23, 1e15 + 0.5, 123.456, 9_007_199_254_740_991])
    func fixedFormatRoundTrips(value: Double) {
        #expect(Double(FloatFormat.fixed(value)) == value)
        #expect(Double(FloatFormat.exponent(value)) == value)
    }

    /// String literals: escapes as Go, none in backticks.
    static let strings: [(String, String)] = [
        (#""a\"b""#, "a\"b"), (#"'a\'b'"#, "a'b"), (#""\a\b\f\n\r\t\v\\""#, "\u{07}\u{08}\u{0C}\n\r\t\u{0B}\\"),
        (#""\x41\101\u00e9\U0001F600""#, "AAé😀"), ("`a\\n\"'`", "a\\n\"'"), ("`multi\nline`", "multi\nline"),
        (#""é#not a comment""#, "é#not a comment"),
    ]

    @Test(arguments: strings)
    func unescapesStrings(literal: String, value: String) throws {
        let matchers = try Parser.parseSelector("m{a=\(literal)}")
        #expect(matchers.first?.value == value)
    }
}
