/// An aggregation such as `sum by (service) (opsight_request_rate)`.
public struct AggregateExpr: Hashable, Sendable {
    /// The aggregation.
    public var op: AggregationOperator
    /// The `by` / `without` clause; `nil` aggregates everything into one sample.
    public var grouping: Grouping?
    /// The aggregated vector expression.
    public var argument: Expr
    /// Where the aggregation's name is.
    public var position: SourcePosition

    /// Creates an aggregation.
    public init(op: AggregationOperator, grouping: Grouping?, argument: Expr, position: SourcePosition = .start) {
        self.op = op
        self.grouping = grouping
        self.argument = argument
        self.position = position
    }
}
