/// A call of one of the subset's functions.
public struct FunctionCall: Hashable, Sendable {
    /// The function.
    public var function: Function
    /// The arguments, whose count and types match `function.argumentTypes`.
    public var arguments: [Expr]
    /// Where the function's name is.
    public var position: SourcePosition

    /// Creates a call.
    public init(function: Function, arguments: [Expr], position: SourcePosition = .start) {
        self.function = function
        self.arguments = arguments
        self.position = position
    }
}
