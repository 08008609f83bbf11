/// Why one line (or array element) of an ingest body was rejected.
///
/// `description` is the text returned to the client, e.g. `status: expected integer` or
/// `invalid JSON at column 17: expected ':'`.
public struct EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offending field as spelled in the line (an alias stays an alias); `nil` for line-level problems.
    public var field: String?
    /// What was wrong, phrased so the sender can fix it.
    public var reason: String

    /// Creates an error for `field` (or the whole line when `nil`).
    public init(field: String? = nil, reason: String) {
        self.field = field
        self.reason = reason
    }

    /// `field: reason`, or just `reason` for line-level problems.
    public var description: String {
        guard let field else { return reason }
        return "\(field): \(reason)"
    }

    /// A JSON syntax error at a 0-based byte offset of the line (reported 1-based).
    static func syntax(at offset: Int, _ what: String) -> EventDecodingError {
        EventDecodingError(reason: "invalid JSON at column \(offset + 1): \(what)")
    }
}
