/// A unary minus or plus applied to an expression.
public struct UnaryExpr: Hashable, Sendable {
    /// The sign.
    public enum Operator: String, Hashable, Sendable {
        /// `-`: negates, and drops the metric name of vector samples.
        case minus = "-"
        /// `+`: returns the operand unchanged.
        case plus = "+"
    }

    /// The sign.
    public var op: Operator
    /// What the sign applies to.
    public var operand: Expr
    /// Where the sign is.
    public var position: SourcePosition

    /// Creates a unary expression.
    public init(op: Operator, operand: Expr, position: SourcePosition = .start) {
        self.op = op
        self.operand = operand
        self.position = position
    }
}
