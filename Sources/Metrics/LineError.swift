/// A rejected line of an ingest body, as reported in the `errors` array of the response.
public struct LineError: Sendable, Equatable, Codable {
    /// 1-based line number (blank lines included), or 1-based element index for a JSON-array body.
    public var line: Int
    /// Why the line was rejected (``EventDecodingError/description``).
    public var error: String

    /// Creates a line error.
    public init(line: Int, error: String) {
        self.line = line
        self.error = error
    }
}
