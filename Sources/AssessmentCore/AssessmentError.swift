/// A failure of the assessment service: a code plus what went wrong.
public struct AssessmentError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A flag, environment variable or URL is malformed.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// The database rejected or failed a statement.
        public static let database = Code("database")
        /// The (simulated) AI call failed.
        public static let aiCallFailed = Code("ai_call_failed")
        /// The code's name.
        public var description: String { name }
    }

    /// The kind of failure.
    public let code: Code
    /// What went wrong, for people.
    public let message: String
    /// The error that caused this one, if any.
    public let underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The message, with the underlying error when there is one.
    public var description: String {
        guard let underlying else { return message }
        return "\(message): \(String(reflecting: underlying))"
    }
}
