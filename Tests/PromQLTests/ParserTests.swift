import Testing

@testable import PromQL

@Suite struct ParserTests {
    /// Input → Prometheus's canonical form (which must parse back to itself).
    static let roundTrips: [(String, String)] = [
        ("up", "up"),
        (#"opsight_request_error_ratio{window="5m"}"#, #"opsight_request_error_ratio{window="5m"}"#),
        (#"m{a="b", c!="d",e=~"f.*", g!~'h'}"#, #"m{a="b",c!="d",e=~"f.*",g!~"h"}"#),
        (#"{__name__="m"}"#, #"{__name__="m"}"#),
        (#"{service="api"}"#, #"{service="api"}"#),
        (#"m{a="b",}"#, #"m{a="b"}"#),
        ("m{}", "m"),
        ("job:rate:sum", "job:rate:sum"),
        (#"m{a=`raw\n`}"#, #"m{a="raw\\n"}"#),
        (#"m{a="tab\tquote\"é\u00e9"}"#, #"m{a="tab\tquote\"éé"}"#),
        ("1 + 2 * 3", "1 + 2 * 3"),
        ("(1 + 2) * 3", "(1 + 2) * 3"),
        ("-m", "-m"),
        ("- 1", "-1"),
        ("+m", "+m"),
        ("--1", "1"),
        ("a - -1", "a - -1"),
        ("2 ^ -1", "2 ^ -1"),
        ("1 == bool 2", "1 == bool 2"),
        ("a > BOOL b", "a > bool b"),
        ("a + on(x, y) b", "a + on (x, y) b"),
        ("a + on() b", "a + on () b"),
        ("a + ignoring(x) b", "a + ignoring (x) b"),
        ("a + ignoring() b", "a + b"),
        ("a > bool on (x) b", "a > bool on (x) b"),
        ("1 + on() a", "1 + a"),
        ("a AND b", "a and b"),
        ("a or on(x) b unless ignoring(y) c", "a or on (x) b unless ignoring (y) c"),
        ("sum(m)", "sum(m)"),
        ("SUM(m)", "sum(m)"),
        ("sum by (a, b) (m)", "sum by (a, b) (m)"),
        ("sum(m) by (a)", "sum by (a) (m)"),
        ("sum without (a) (m)", "sum without (a) (m)"),
        ("sum without () (m)", "sum without () (m)"),
        ("sum by () (m)", "sum(m)"),
        ("avg by (a,) (m)", "avg by (a) (m)"),
        ("count by (on, by, sum) (m)", "count by (on, by, sum) (m)"),
        ("min(m) without (x)", "min without (x) (m)"),
        ("max(m,)", "max(m)"),
        ("abs(m)", "abs(m)"),
        (#"absent(m{a="b"})"#, #"absent(m{a="b"})"#),
        ("clamp_min(m, 0)", "clamp_min(m, 0)"),
        ("clamp_max(m, 1e3)", "clamp_max(m, 1000)"),
        ("sum", "sum"),
        ("by + offset", "by + offset"),
        ("m # a comment\n + 1", "m + 1"),
        ("# leading comment\nm", "m"),
    ]

    @Test(arguments: roundTrips)
    func printsCanonicalForm(input: String, expected: String) throws {
        let expr = try Parser.parse(input)
        #expect(expr.description == expected)
        #expect(try Parser.parse(expected).description == expected)
    }

    /// Input → structure with every binary and unary operation parenthesised.
    static let shapes: [(String, String)] = [
        ("a + b * c", "(a + (b * c))"),
        ("a * b + c", "((a * b) + c)"),
        ("a - b - c", "((a - b) - c)"),
        ("a / b % c * d", "(((a / b) % c) * d)"),
        ("a ^ b ^ c", "(a ^ (b ^ c))"),
        ("-a ^ b", "(-(a ^ b))"),
        ("-a * b", "((-a) * b)"),
        ("a * -b + c", "((a * (-b)) + c)"),
        ("a ^ -b ^ c", "(a ^ (-(b ^ c)))"),
        ("-2 ^ 2", "(-(2 ^ 2))"),
        ("a + b > c - d", "((a + b) > (c - d))"),
        ("a > b == c", "((a > b) == c)"),
        ("a and b or c unless d", "((a and b) or (c unless d))"),
        ("a or b and c", "(a or (b and c))"),
        ("a unless b and c", "((a unless b) and c)"),
        ("a > 1 and b < 2 or c", "(((a > 1) and (b < 2)) or c)"),
        ("sum(a) by (x) / sum(b)", "(sum by (x) (a) / sum(b))"),
        ("(a + b) * c", "((a + b) * c)"),
    ]

    @Test(arguments: shapes)
    func respectsPrecedenceAndAssociativity(input: String, expected: String) throws {
        #expect(Self.shape(try Parser.parse(input)) == expected)
    }

    static func shape(_ expr: Expr) -> String {
        switch expr {
        case .binary(let node): "(\(shape(node.lhs)) \(node.op.rawValue) \(shape(node.rhs)))"
        case .unary(let node): "(\(node.op.rawValue)\(shape(node.operand)))"
        case .paren(let node): shape(node.inner)
        case .aggregation(let node):
            node.op.rawValue
                + (node.grouping.map { " \($0.mode.rawValue) (\($0.labels.joined(separator: ", "))) " } ?? "")
                + "(\(shape(node.argument)))"
        default: expr.description
        }
    }

    @Test func keepsSourcePositions() throws {
        let expr = try Parser.parse("sum(a)\n  + -b{x=\"1\"} > bool 0.5")
        guard case .binary(let comparison) = expr, case .binary(let sum) = comparison.lhs,
            case .unary(let negation) = sum.rhs
        else {
            Issue.record("unexpected shape \(expr)")
            return
        }
        #expect(comparison.operatorPosition == SourcePosition(line: 2, column: 15, offset: 21))
        #expect(sum.operatorPosition == SourcePosition(line: 2, column: 3, offset: 9))
        #expect(negation.position == SourcePosition(line: 2, column: 5, offset: 11))
        #expect(negation.operand.position == SourcePosition(line: 2, column: 6, offset: 12))
        #expect(comparison.rhs.position == SourcePosition(line: 2, column: 22, offset: 28))
        #expect(expr.position == .start)
    }

    @Test func typesExpressions() throws {
        #expect(try Parser.parse("1 + 2").type == .scalar)
        #expect(try Parser.parse("(-1) ^ 2").type == .scalar)
        #expect(try Parser.parse("1 + m").type == .vector)
        #expect(try Parser.parse("absent(m)").type == .vector)
    }

    @Test func parsesSelectorsForSeriesMatching() throws {
        let matchers = try Parser.parseSelector(#"up{job=~"a|b"}"#)
        #expect(matchers.map(\.description) == [#"job=~"a|b""#, #"__name__="up""#])
        #expect(throws: PromQLError.self) { try Parser.parseSelector("sum(up)") }
    }
}
