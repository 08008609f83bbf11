extension Parser {
    /// Parses a literal, selector, aggregation, call or parenthesised expression, then rejects any
    /// range, subquery, `offset` or `@` that follows it.
    mutating func parsePrimary() throws(PromQLError) -> Expr {
        let expr = try parseOperand()
        if current.is("[") {
            throw PromQLError(
                .unsupported, isSubquery() ? Rejection.subquery : Rejection.rangeVector, at: current.position)
        }
        if current.isKeyword("offset") {
            throw PromQLError(.unsupported, Rejection.offset, at: current.position)
        }
        if current.is("@") {
            throw PromQLError(.unsupported, Rejection.at, at: current.position)
        }
        return expr
    }

    private mutating func parseOperand() throws(PromQLError) -> Expr {
        let token = current
        switch token.kind {
        case .number(let value), .duration(let value):
            consume()
            return .number(NumberLiteral(value: value, position: token.position))
        case .string:
            throw PromQLError(.unsupported, Rejection.stringLiteral, at: token.position)
        case .symbol("("):
            consume()
            let inner = try parseExpression(minPrecedence: 1)
            try expect(")")
            return .paren(ParenExpr(inner: inner, position: token.position))
        case .symbol("{"):
            return .selector(try parseSelector(metricName: nil))
        case .identifier(let word):
            return try parseWord(word)
        default:
            throw unexpected(expecting: "expression")
        }
    }

    private mutating func parseWord(_ word: String) throws(PromQLError) -> Expr {
        let lower = word.lowercased()
        let next = peek()
        if lower == "inf" || lower == "nan" {
            return .number(NumberLiteral(value: lower == "inf" ? .infinity : .nan, position: consume().position))
        }
        let isAggregationName =
            AggregationOperator(rawValue: lower) != nil || Rejection.otherAggregations.contains(lower)
        if isAggregationName && (next.is("(") || next.isKeyword("by") || next.isKeyword("without")) {
            return .aggregation(try parseAggregation())
        }
        if next.is("(") {
            return .call(try parseCall())
        }
        if ["bool", "on", "ignoring", "group_left", "group_right"].contains(lower) {
            throw PromQLError(.syntax, "unexpected keyword '\(word)', expected expression", at: current.position)
        }
        return .selector(try parseSelector(metricName: word))
    }

    /// Whether the `[` at the current token opens a subquery (`[5m:1m]`) rather than a range.
    private func isSubquery() -> Bool {
        var ahead = 1
        while true {
            let token = peek(ahead)
            switch token.kind {
            // `:` starts an identifier for the lexer (as in `job:rate:sum`).
            case .symbol(":"): return true
            case .identifier(let word) where word.hasPrefix(":"): return true
            case .symbol("]"), .end, .error: return false
            default: ahead += 1
            }
        }
    }

    /// Parses `(expr, …)`; a trailing comma is allowed.
    mutating func parseArguments() throws(PromQLError) -> [Expr] {
        try expect("(")
        var arguments: [Expr] = []
        while !current.is(")") {
            arguments.append(try parseExpression(minPrecedence: 1))
            guard current.is(",") || current.is(")") else { throw unexpected(expecting: "',' or ')'") }
            if current.is(",") { consume() }
        }
        consume()
        return arguments
    }
}
