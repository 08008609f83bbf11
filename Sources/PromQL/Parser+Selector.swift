extension Parser {
    /// Parses `name`, `name{…}` or `{…}`, the name (if any) being the current token.
    mutating func parseSelector(metricName: String?) throws(PromQLError) -> VectorSelector {
        let position = current.position
        if metricName != nil { consume() }
        var matchers: [LabelMatcher] = []
        if current.is("{") {
            consume()
            while !current.is("}") {
                matchers.append(try parseMatcher())
                guard current.is(",") || current.is("}") else { throw unexpected(expecting: "',' or '}'") }
                if current.is(",") { consume() }
            }
            consume()
        }
        let selector = VectorSelector(metricName: metricName, matchers: matchers, position: position)
        if let metricName, let other = matchers.first(where: { $0.name == Labels.metricName }) {
            throw PromQLError(
                .invalid, "metric name must not be set twice: \(metricName.goQuoted) or \(other.value.goQuoted)",
                at: position)
        }
        guard selector.allMatchers.contains(where: { !$0.matches("") }) else {
            throw PromQLError(.invalid, "vector selector must contain at least one non-empty matcher", at: position)
        }
        return selector
    }

    /// Parses `label op "value"`.
    private mutating func parseMatcher() throws(PromQLError) -> LabelMatcher {
        guard let name = current.word, !name.contains(":") else { throw unexpected(expecting: "label name") }
        consume()
        guard case .symbol(let symbol) = current.kind, let op = LabelMatcher.Operator(rawValue: symbol) else {
            throw unexpected(expecting: "label matching operator ('=', '!=', '=~' or '!~')")
        }
        consume()
        guard case .string(let value) = current.kind else { throw unexpected(expecting: "string") }
        return try LabelMatcher(name: name, op: op, value: value, position: consume().position)
    }
}
