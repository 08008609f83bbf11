/// A parsed PromQL expression of Opsight's subset.
///
/// Parentheses are kept (`.paren`) so that `description` prints the expression as written, in
/// Prometheus's canonical spacing.
public indirect enum Expr: Hashable, Sendable {
    /// A number literal such as `0.05`, `Inf` or `5m` (300).
    case number(NumberLiteral)
    /// An instant-vector selector such as `opsight_request_error_ratio{window="5m"}`.
    case selector(VectorSelector)
    /// A unary `-` or `+`.
    case unary(UnaryExpr)
    /// A binary arithmetic, comparison or set operation.
    case binary(BinaryExpr)
    /// One of `sum min max avg count`, with optional `by` / `without`.
    case aggregation(AggregateExpr)
    /// A call of `abs`, `absent`, `clamp_min` or `clamp_max`.
    case call(FunctionCall)
    /// A parenthesised expression.
    case paren(ParenExpr)

    /// Where the expression starts in the source.
    public var position: SourcePosition {
        switch self {
        case .number(let node): node.position
        case .selector(let node): node.position
        case .unary(let node): node.position
        case .binary(let node): node.position
        case .aggregation(let node): node.position
        case .call(let node): node.position
        case .paren(let node): node.position
        }
    }

    /// What the expression evaluates to.
    public var type: ValueType {
        switch self {
        case .number: .scalar
        case .selector, .aggregation, .call: .vector
        case .unary(let node): node.operand.type
        case .binary(let node): node.lhs.type == .scalar && node.rhs.type == .scalar ? .scalar : .vector
        case .paren(let node): node.inner.type
        }
    }

    /// Every vector selector in the expression, in the order written.
    public var selectors: [VectorSelector] {
        switch self {
        case .number: []
        case .selector(let node): [node]
        case .unary(let node): node.operand.selectors
        case .binary(let node): node.lhs.selectors + node.rhs.selectors
        case .aggregation(let node): node.argument.selectors
        case .call(let node): node.arguments.flatMap(\.selectors)
        case .paren(let node): node.inner.selectors
        }
    }

    /// The expression without any enclosing parentheses.
    public var unwrapped: Expr {
        if case .paren(let node) = self { return node.inner.unwrapped }
        return self
    }
}
