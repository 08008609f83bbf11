/// An expression in parentheses.
public struct ParenExpr: Hashable, Sendable {
    /// The expression inside.
    public var inner: Expr
    /// Where the opening parenthesis is.
    public var position: SourcePosition

    /// Creates a parenthesised expression.
    public init(inner: Expr, position: SourcePosition = .start) {
        self.inner = inner
        self.position = position
    }
}
