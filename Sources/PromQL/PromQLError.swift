/// An error in a PromQL expression or its evaluation, with the position it refers to.
///
/// `description` reads like `1:17: unexpected ')', expected expression`.
public struct PromQLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; extensible, so switch over it with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case syntax, unsupported, invalid, execution, timeout, limit
        }
        private let base: Base

        /// The text is not valid PromQL (unexpected token, bad number, unterminated string …).
        public static let syntax = Code(base: .syntax)
        /// Valid PromQL that is outside Opsight's subset (range vectors, `rate`, `offset` …).
        public static let unsupported = Code(base: .unsupported)
        /// Well-formed but meaningless: wrong types, wrong argument count, invalid regex …
        public static let invalid = Code(base: .invalid)
        /// Evaluation failed, e.g. duplicate series for a match group.
        public static let execution = Code(base: .execution)
        /// The query ran past its deadline and was stopped.
        public static let timeout = Code(base: .timeout)
        /// The query touched more series than it may.
        public static let limit = Code(base: .limit)

        /// The code's name, e.g. `syntax`.
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What was wrong and, where it helps, what to write instead.
    public var message: String
    /// Where in the expression the problem is.
    public var position: SourcePosition

    /// Creates an error.
    public init(_ code: Code, _ message: String, at position: SourcePosition) {
        self.code = code
        self.message = message
        self.position = position
    }

    /// `line:column: message`.
    public var description: String { "\(position): \(message)" }
}
