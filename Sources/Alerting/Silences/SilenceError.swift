/// Why a silence could not be added or expired.
public struct SilenceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure; extensible.
    public struct Code: Hashable, Sendable {
        private let name: String
        /// The silence is malformed (no matchers, end before start …).
        public static let invalid = Code(name: "invalid")
        /// No silence has that id.
        public static let notFound = Code(name: "not_found")
        /// The silence has already ended.
        public static let alreadyExpired = Code(name: "already_expired")
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
