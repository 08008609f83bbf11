/// A binary operation: arithmetic, comparison (optionally `bool`) or set operation.
public struct BinaryExpr: Hashable, Sendable {
    /// The operator.
    public var op: BinaryOperator
    /// The left operand.
    public var lhs: Expr
    /// The right operand.
    public var rhs: Expr
    /// Whether a comparison carries `bool` (returns 0/1 instead of filtering).
    public var returnsBool: Bool
    /// The `on(...)` / `ignoring(...)` clause, if written.
    public var matching: VectorMatching?
    /// Where the operator is; evaluation errors point here.
    public var operatorPosition: SourcePosition

    /// Creates a binary expression.
    public init(
        op: BinaryOperator, lhs: Expr, rhs: Expr, returnsBool: Bool = false, matching: VectorMatching? = nil,
        operatorPosition: SourcePosition = .start
    ) {
        self.op = op
        self.lhs = lhs
        self.rhs = rhs
        self.returnsBool = returnsBool
        self.matching = matching
        self.operatorPosition = operatorPosition
    }

    /// Where the expression starts: its left operand.
    public var position: SourcePosition { lhs.position }

    /// The matching in effect: the written clause, or `ignoring()` (all labels but the name).
    public var effectiveMatching: VectorMatching { matching ?? VectorMatching(.ignoring, []) }
}
