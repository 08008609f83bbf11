/// Every problem found while loading rule files or alerting configuration (loading is
/// all-or-nothing: any error rejects the whole set).
public struct ConfigErrors: Error, Hashable, Sendable, CustomStringConvertible {
    /// The problems, in file order.
    public var errors: [ConfigError]

    /// Wraps `errors`.
    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    /// One problem per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
