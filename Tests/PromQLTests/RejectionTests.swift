import Testing

@testable import PromQL

@Suite struct RejectionTests {
    static let window = #"use the window label, e.g. opsight_request_error_ratio{window="5m"}"#
    static let functions = "(supported: abs, absent, clamp_min, clamp_max)"
    static let aggregations = "(supported: sum, min, max, avg, count)"

    /// Valid PromQL outside the subset → `line:column: message`.
    static let rejections: [(String, String)] = [
        ("opsight_request_error_ratio[5m]", "1:28: range vectors are not supported: " + window),
        ("abs(x[5m])", "1:6: range vectors are not supported: " + window),
        ("(x)[5m]", "1:4: range vectors are not supported: " + window),
        ("x[5m:1m]", "1:2: subqueries are not supported: " + window),
        ("sum(x)[30m:]", "1:7: subqueries are not supported: " + window),
        (
            "rate(opsight_requests_total[5m])",
            "1:1: function 'rate' is not supported \(functions); Opsight's series are already windowed: "
                + #"use the window label, e.g. opsight_request_rate{window="5m"}"#
        ),
        (
            "sum(\n  irate(x[1m])\n)",
            "2:3: function 'irate' is not supported \(functions); Opsight's series are already windowed: "
                + #"use the window label, e.g. opsight_request_rate{window="5m"}"#
        ),
        (
            "1 + increase(x[1h])",
            "1:5: function 'increase' is not supported \(functions); Opsight's series are already windowed: "
                + #"use the window label, e.g. opsight_request_rate{window="5m"}"#
        ),
        (
            "avg_over_time(x[5m])",
            "1:1: function 'avg_over_time' is not supported \(functions); Opsight's series are already windowed: "
                + window
        ),
        (
            "quantile_over_time(0.9, x[5m])",
            "1:1: function 'quantile_over_time' is not supported \(functions); Opsight's series are already "
                + "windowed: " + window
        ),
        (
            "delta(x[5m])",
            "1:1: function 'delta' is not supported \(functions); Opsight's series are already windowed: " + window
        ),
        (
            "histogram_quantile(0.95, sum by (le) (x))",
            "1:1: function 'histogram_quantile' is not supported \(functions); latency series are already "
                + #"quantiles: use the quantile label, e.g. opsight_request_latency_seconds{quantile="0.95",window="5m"}"#
        ),
        (#"label_replace(x, "a", "$1", "b", "(.*)")"#, "1:1: function 'label_replace' is not supported \(functions)"),
        ("time()", "1:1: function 'time' is not supported \(functions)"),
        ("clamp(x, 0, 1)", "1:1: function 'clamp' is not supported \(functions)"),
        ("ABS(x)", "1:1: unknown function 'ABS' \(functions)"),
        ("frobnicate(x)", "1:1: unknown function 'frobnicate' \(functions)"),
        (
            "x offset 5m",
            "1:3: offset modifiers are not supported: evaluate at an earlier time with the query's time instead"
        ),
        (
            "sum(x offset 1h)",
            "1:7: offset modifiers are not supported: evaluate at an earlier time with the query's time instead"
        ),
        (
            "x @ 1609746000",
            "1:3: @ modifiers are not supported: evaluate at another time with the query's time instead"
        ),
        ("x @ start()", "1:3: @ modifiers are not supported: evaluate at another time with the query's time instead"),
        (
            "a * on(x) group_left b",
            "1:11: group_left (many-to-one matching) is not supported: only one-to-one matching, with on(...) or ignoring(...)"
        ),
        (
            "a / ignoring(y) group_right(z) b",
            "1:17: group_right (many-to-one matching) is not supported: only one-to-one matching, with on(...) or ignoring(...)"
        ),
        ("topk(3, x)", "1:1: aggregation 'topk' is not supported \(aggregations)"),
        ("bottomk by (a) (3, x)", "1:1: aggregation 'bottomk' is not supported \(aggregations)"),
        ("quantile(0.9, x)", "1:1: aggregation 'quantile' is not supported \(aggregations)"),
        ("stddev(x)", "1:1: aggregation 'stddev' is not supported \(aggregations)"),
        ("stdvar(x)", "1:1: aggregation 'stdvar' is not supported \(aggregations)"),
        (#"count_values("v", x)"#, "1:1: aggregation 'count_values' is not supported \(aggregations)"),
        ("1 + group(x)", "1:5: aggregation 'group' is not supported \(aggregations)"),
        ("limitk(2, x)", "1:1: aggregation 'limitk' is not supported \(aggregations)"),
        ("a atan2 b", "1:3: operator 'atan2' is not supported (supported: + - * / % ^ == != > < >= <= and or unless)"),
        (#""opsight""#, "1:1: string literals are only supported as label matcher values"),
        (#"x + "1""#, "1:5: string literals are only supported as label matcher values"),
    ]

    @Test(arguments: rejections)
    func rejectsConstructsOutsideTheSubset(input: String, expected: String) {
        #expect(Self.error(input) == expected)
        #expect(Self.code(input) == .unsupported)
    }

    /// Invalid PromQL → `line:column: message`, Prometheus's wording where it has one.
    static let errors: [(String, String)] = [
        ("sum(x))", "1:7: unexpected ')', expected operator or end of input"),
        ("(a + b", "1:7: unexpected end of input, expected ')'"),
        ("a +", "1:4: unexpected end of input, expected expression"),
        ("a +\n  )", "2:3: unexpected ')', expected expression"),
        ("a b", "1:3: unexpected identifier 'b', expected operator or end of input"),
        ("a 1", "1:3: unexpected number '1', expected operator or end of input"),
        ("on", "1:1: unexpected keyword 'on', expected expression"),
        ("a + bool", "1:9: unexpected end of input, expected expression"),
        (#"m{a="b""#, "1:8: unexpected end of input, expected ',' or '}'"),
        ("m{a}", "1:4: unexpected '}', expected label matching operator ('=', '!=', '=~' or '!~')"),
        ("m{a=b}", "1:5: unexpected identifier 'b', expected string"),
        (#"m{a=="b"}"#, "1:4: unexpected '==', expected label matching operator ('=', '!=', '=~' or '!~')"),
        (#"m{a:b="c"}"#, "1:3: unexpected identifier 'a:b', expected label name"),
        (#"m{"a"="c"}"#, #"1:3: unexpected string "a", expected label name"#),
        ("{}", "1:1: vector selector must contain at least one non-empty matcher"),
        (#"{a=~".*"}"#, "1:1: vector selector must contain at least one non-empty matcher"),
        (#"{a="", b!~"x"}"#, "1:1: vector selector must contain at least one non-empty matcher"),
        (#"m{__name__="n"}"#, #"1:1: metric name must not be set twice: "m" or "n""#),
        (#"m{a=~"("}"#, #"1:6: invalid regular expression "(" for label a: missing ): ("#),
        ("1 > 2", "1:3: comparisons between scalars must use BOOL modifier"),
        ("a + bool b", "1:3: bool modifier can only be used on comparison operators"),
        ("a and bool b", "1:3: bool modifier can only be used on comparison operators"),
        ("1 and a", #"1:3: set operator "and" not allowed in binary scalar expression"#),
        ("a or 1", #"1:3: set operator "or" not allowed in binary scalar expression"#),
        ("1 + on(x) a", "1:3: vector matching only allowed between instant vectors"),
        ("sum()", "1:1: no arguments for aggregate expression provided"),
        ("sum(a, b)", "1:1: wrong number of arguments for aggregate expression provided, expected 1, got 2"),
        ("sum(1)", "1:5: expected type instant vector in aggregation expression, got scalar"),
        ("abs(1)", #"1:5: expected type instant vector in call to function "abs", got scalar"#),
        ("absent()", #"1:1: expected 1 argument(s) in call to "absent", got 0"#),
        ("clamp_min(a)", #"1:1: expected 2 argument(s) in call to "clamp_min", got 1"#),
        ("clamp_max(a, b)", #"1:14: expected type scalar in call to function "clamp_max", got instant vector"#),
        ("sum by (a) x", "1:12: unexpected identifier 'x', expected '('"),
        ("sum by a (x)", "1:8: unexpected identifier 'a', expected '('"),
        ("sum by (a:b) (x)", "1:9: unexpected identifier 'a:b', expected label name"),
        ("a + on(x", "1:9: unexpected end of input, expected ',' or ')'"),
        ("sum(x) by (a) by (b)", "1:15: unexpected identifier 'by', expected operator or end of input"),
        ("1.2.3", #"1:1: bad number or duration syntax: "1.2.3""#),
        ("5x", #"1:1: bad number or duration syntax: "5x""#),
        ("1m1h", #"1:1: bad number or duration syntax: "1m1h""#),
        ("0s", "1:1: duration must be greater than 0"),
        (#""abc"#, "1:1: unterminated quoted string"),
        ("m{a=\"x\ny\"}", "1:5: unterminated quoted string"),
        (#"m{a="\q"}"#, #"1:6: unknown escape sequence '\q'"#),
        ("a $ b", "1:3: unexpected character '$'"),
        ("a ! b", "1:3: unexpected character '!'"),
        ("a b \"unterminated", "1:3: unexpected identifier 'b', expected operator or end of input"),
        ("", "1:1: unexpected end of input, expected expression"),
    ]

    @Test(arguments: errors)
    func reportsErrorsWithPositions(input: String, expected: String) {
        #expect(Self.error(input) == expected)
    }

    /// Query → the kind of error it raises, from parsing or evaluation.
    static let codes: [(String, PromQLError.Code)] = [
        ("sum(x))", .syntax), (#""abc"#, .syntax), ("rate(x[5m])", .unsupported), ("x offset 1m", .unsupported),
        ("1 > 2", .invalid), ("abs(1)", .invalid), (#"m{a=~"("}"#, .invalid),
        ("opsight_service_error_ratio + ignoring(window) opsight_service_request_rate", .execution),
        (#"-{service="web", window="1h"}"#, .execution),
    ]

    @Test(arguments: codes)
    func classifiesErrors(query: String, code: PromQLError.Code) async {
        await #expect(throws: PromQLError.self) {
            do {
                _ = try await Fixture.evaluator.evaluate(query, at: Fixture.time)
            } catch let error as PromQLError {
                #expect(error.code == code)
                throw error
            }
        }
    }

    @Test func reportsByteOffsets() {
        #expect(
            throws: PromQLError(
                .syntax, "unexpected ')', expected expression", at: .init(line: 2, column: 4, offset: 15))
        ) {
            try Parser.parse("m{a=\"é\"} +\n   )")
        }
    }

    static func error(_ input: String) -> String? {
        do {
            _ = try Parser.parse(input)
            return nil
        } catch {
            return error.description
        }
    }

    static func code(_ input: String) -> PromQLError.Code? {
        do {
            _ = try Parser.parse(input)
            return nil
        } catch {
            return error.code
        }
    }
}
