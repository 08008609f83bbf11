import PromQL

/// A recording rule: `record` (a metric name), `expr`, `labels`.
public struct RecordingRule: Hashable, Sendable {
    /// The metric name of the recorded series.
    public var name: String
    /// The parsed expression.
    public var expression: Expr
    /// Labels set on every recorded sample (not templated, as in Prometheus).
    public var labels: [String: String]
    /// The line of the rule in its file.
    public var line: Int

    /// Creates a rule.
    public init(name: String, expression: Expr, labels: [String: String] = [:], line: Int = 0) {
        self.name = name
        self.expression = expression
        self.labels = labels
        self.line = line
    }

    /// The samples to record from an evaluation result: the expression's samples renamed to `name`
    /// with `labels` applied, as Prometheus's `RecordingRule.Eval`.
    public func samples(from value: Value) throws(RuleEvaluationError) -> [Sample] {
        var seen = Set<Labels>()
        var result: [Sample] = []
        for sample in value.asVector {
            var labels = sample.labels.setting(Labels.metricName, to: name)
            for (label, value) in self.labels.sorted(by: { $0.key < $1.key }) {
                labels = labels.setting(label, to: value)
            }
            guard seen.insert(labels).inserted else {
                throw RuleEvaluationError("vector contains metrics with the same labelset after applying rule labels")
            }
            result.append(Sample(labels: labels, value: sample.value))
        }
        return result
    }
}
