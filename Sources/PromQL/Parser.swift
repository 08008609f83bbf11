/// Parses PromQL text of Opsight's subset into an `Expr`, rejecting everything else with an error
/// that names the construct and points at it.
///
/// ```swift
/// let expr = try Parser.parse(#"sum by (service) (opsight_request_rate{window="5m"}) > 10"#)
/// ```
public struct Parser: Sendable {
    /// The longest expression accepted, in UTF-8 bytes.
    public static let maxLength = 65_536
    /// The deepest syntax tree accepted (SPEC §7): parentheses, signs, calls, aggregations and chained binary
    /// operators each add a level. The bound keeps the recursive parser, evaluator and tree teardown far from
    /// the thread's stack limit whatever the input.
    public static let maxDepth = 128

    var tokens: [Token]
    var index = 0
    /// How deep the syntax tree being built is at the current token.
    var depth = 0

    init(_ text: String) {
        tokens = Lexer.tokenize(text)
    }

    /// Parses a whole expression.
    public static func parse(_ text: String) throws(PromQLError) -> Expr {
        guard text.utf8.count <= maxLength else {
            throw PromQLError(
                .invalid, "the expression is \(text.utf8.count) bytes long; at most \(maxLength) are accepted",
                at: .start)
        }
        var parser = Parser(text)
        let expr = try parser.parseExpression(minPrecedence: 1)
        guard parser.current.kind == .end else { throw parser.unexpected(expecting: "operator or end of input") }
        return expr
    }

    /// Parses a series selector such as the `match[]` parameter of `/api/v1/series`, returning all
    /// its matchers (the metric name as a `__name__` matcher).
    public static func parseSelector(_ text: String) throws(PromQLError) -> [LabelMatcher] {
        let expr = try parse(text)
        guard case .selector(let selector) = expr else {
            throw PromQLError(.invalid, "expected a series selector such as up{job=\"api\"}", at: expr.position)
        }
        return selector.allMatchers
    }

    /// The token being looked at.
    var current: Token { tokens[index] }

    /// The token `ahead` places after the current one (the last token, `.end`, repeats).
    func peek(_ ahead: Int = 1) -> Token { tokens[min(index + ahead, tokens.count - 1)] }

    /// Moves past the current token and returns it.
    @discardableResult
    mutating func consume() -> Token {
        let token = current
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    /// Consumes the symbol or throws an error saying it was expected.
    @discardableResult
    mutating func expect(_ symbol: String) throws(PromQLError) -> Token {
        guard current.is(symbol) else { throw unexpected(expecting: "'\(symbol)'") }
        return consume()
    }

    /// The error for the current token, e.g. `unexpected ')', expected expression`; a lexical error
    /// at this point is reported as itself.
    func unexpected(expecting expected: String) -> PromQLError {
        if case .error(let error) = current.kind { return error }
        return PromQLError(.syntax, "unexpected \(current.quoted), expected \(expected)", at: current.position)
    }

    /// Parses binary operations whose operators bind at least as tightly as `minPrecedence`.
    mutating func parseExpression(minPrecedence: Int) throws(PromQLError) -> Expr {
        try descend()
        // Each operator of a chain such as `a + b + c` nests the tree one level deeper on its left.
        var levels = 1
        defer { depth -= levels }
        var lhs = try parseUnary()
        while let op = try binaryOperator(), op.precedence >= minPrecedence {
            try descend()
            levels += 1
            let operatorPosition = consume().position
            let (returnsBool, matching) = try parseModifiers()
            let rhs = try parseExpression(minPrecedence: op.isRightAssociative ? op.precedence : op.precedence + 1)
            let node = BinaryExpr(
                op: op, lhs: lhs, rhs: rhs, returnsBool: returnsBool, matching: matching,
                operatorPosition: operatorPosition)
            lhs = .binary(try Self.check(node))
        }
        return lhs
    }

    /// Goes one level deeper into the syntax tree, refusing to pass `maxDepth`.
    mutating func descend() throws(PromQLError) {
        depth += 1
        guard depth <= Self.maxDepth else {
            depth -= 1
            throw PromQLError(
                .invalid,
                "the expression nests deeper than \(Self.maxDepth) levels (parentheses, signs, calls and chained operators); simplify it",
                at: current.position)
        }
    }

    /// Parses an optional sign and its operand (which only `^` binds more tightly than the sign).
    mutating func parseUnary() throws(PromQLError) -> Expr {
        guard current.is("-") || current.is("+") else { return try parsePrimary() }
        let sign = consume()
        let operand = try parseExpression(minPrecedence: BinaryOperator.power.precedence)
        if case .number(let literal) = operand {
            // As Prometheus, a signed number literal is a literal, not an operation.
            return .number(NumberLiteral(value: sign.is("-") ? -literal.value : literal.value, position: sign.position))
        }
        return .unary(UnaryExpr(op: sign.is("-") ? .minus : .plus, operand: operand, position: sign.position))
    }

    /// The binary operator at the current token, if any.
    func binaryOperator() throws(PromQLError) -> BinaryOperator? {
        switch current.kind {
        case .symbol(let symbol):
            return BinaryOperator(rawValue: symbol).flatMap { $0.isSetOperator ? nil : $0 }
        case .identifier(let word):
            let lower = word.lowercased()
            if lower == "atan2" { throw PromQLError(.unsupported, Rejection.atan2, at: current.position) }
            return ["and", "or", "unless"].contains(lower) ? BinaryOperator(rawValue: lower) : nil
        default:
            return nil
        }
    }

    /// Parses `bool`, `on(...)` / `ignoring(...)` after a binary operator; rejects `group_left/right`.
    mutating func parseModifiers() throws(PromQLError) -> (Bool, VectorMatching?) {
        let returnsBool = current.isKeyword("bool")
        if returnsBool { consume() }
        var matching: VectorMatching?
        if let mode = current.word.flatMap({ VectorMatching.Mode(rawValue: $0.lowercased()) }) {
            consume()
            matching = VectorMatching(mode, try parseLabelList())
        }
        if let word = current.word?.lowercased(), word == "group_left" || word == "group_right" {
            throw PromQLError(.unsupported, Rejection.groupModifier(word), at: current.position)
        }
        return (returnsBool, matching)
    }

    /// Parses `(label, …)` as in `by`, `without`, `on` and `ignoring`; a trailing comma is allowed.
    mutating func parseLabelList() throws(PromQLError) -> [String] {
        try expect("(")
        var labels: [String] = []
        while !current.is(")") {
            guard let label = current.word, !label.contains(":") else { throw unexpected(expecting: "label name") }
            labels.append(label)
            consume()
            guard current.is(",") || current.is(")") else { throw unexpected(expecting: "',' or ')'") }
            if current.is(",") { consume() }
        }
        consume()
        return labels
    }
}
