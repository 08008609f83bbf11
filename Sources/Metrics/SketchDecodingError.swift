/// Why bytes could not be decoded as a ``LogSketch``.
public struct SketchDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong with the bytes.
    public var reason: String

    /// Creates an error.
    public init(reason: String) {
        self.reason = reason
    }

    /// `invalid sketch encoding: <reason>`.
    public var description: String { "invalid sketch encoding: \(reason)" }
}
