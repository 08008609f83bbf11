/// Why a rule's evaluation failed (query error, duplicate label sets, limit exceeded).
public struct RuleEvaluationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as Prometheus words it.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
