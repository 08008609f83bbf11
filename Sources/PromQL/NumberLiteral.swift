/// A number literal: decimal, scientific, hexadecimal, `Inf`, `NaN` or a duration in seconds.
public struct NumberLiteral: Hashable, Sendable {
    /// The value.
    public var value: Double
    /// Where the literal starts (at the sign, when a unary minus was folded into it).
    public var position: SourcePosition

    /// Creates a literal.
    public init(value: Double, position: SourcePosition = .start) {
        self.value = value
        self.position = position
    }
}
