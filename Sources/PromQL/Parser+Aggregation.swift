extension Parser {
    /// Parses `sum by (a) (x)`, `sum(x) by (a)` or `sum(x)`, the aggregation's name being current.
    mutating func parseAggregation() throws(PromQLError) -> AggregateExpr {
        let name = current
        guard let op = AggregationOperator(rawValue: name.text.lowercased()) else {
            throw PromQLError(.unsupported, Rejection.aggregation(name.text.lowercased()), at: name.position)
        }
        consume()
        var grouping = try parseGrouping()
        let arguments = try parseArguments()
        if grouping == nil { grouping = try parseGrouping() }
        guard let argument = arguments.first else {
            throw PromQLError(.invalid, "no arguments for aggregate expression provided", at: name.position)
        }
        guard arguments.count == 1 else {
            throw PromQLError(
                .invalid,
                "wrong number of arguments for aggregate expression provided, expected 1, got \(arguments.count)",
                at: name.position)
        }
        guard argument.type == .vector else {
            throw PromQLError(
                .invalid, "expected type instant vector in aggregation expression, got \(argument.type)",
                at: argument.position)
        }
        return AggregateExpr(op: op, grouping: grouping, argument: argument, position: name.position)
    }

    /// Parses an optional `by (…)` or `without (…)`.
    private mutating func parseGrouping() throws(PromQLError) -> Grouping? {
        guard let mode = current.word.flatMap({ Grouping.Mode(rawValue: $0.lowercased()) }) else { return nil }
        consume()
        return Grouping(mode, try parseLabelList())
    }
}
