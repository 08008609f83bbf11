extension Evaluator {
    /// Evaluates `abs`, `absent`, `clamp_min` or `clamp_max`.
    func call(_ node: FunctionCall, at time: EvaluationTime) async throws -> [Sample] {
        let samples = try await vector(of: node.arguments[0], at: time)
        let result: [Sample]
        switch node.function {
        case .absent:
            return samples.isEmpty ? [Sample(labels: Self.absentLabels(node.arguments[0]), value: 1)] : []
        case .abs:
            result = samples.map { Sample(labels: $0.labels.droppingMetricName(), value: $0.value.magnitude) }
        case .clampMin, .clampMax:
            let bound = try await value(of: node.arguments[1], at: time).scalar ?? .nan
            let clamp = node.function == .clampMin ? GoMath.max : GoMath.min
            result = samples.map { Sample(labels: $0.labels.droppingMetricName(), value: clamp(bound, $0.value)) }
        }
        try Self.requireDistinct(result, from: samples, at: node.position)
        return result
    }

    /// The labels of `absent`'s sample: those of the argument selector's equality matchers (a label
    /// matched more than once, or also by another operator, is left out). As in Prometheus, any other
    /// argument, a parenthesised selector included, gives no labels.
    static func absentLabels(_ argument: Expr) -> Labels {
        guard case .selector(let selector) = argument else { return .empty }
        var labels: [String: String] = [:]
        var seen = Set<String>()
        for matcher in selector.matchers where matcher.name != Labels.metricName {
            if matcher.op == .equal && !seen.contains(matcher.name) {
                labels[matcher.name] = matcher.value
                seen.insert(matcher.name)
            } else {
                labels[matcher.name] = nil
            }
        }
        return Labels(labels)
    }
}
