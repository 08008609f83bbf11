/// One argument of a Redis command.
///
/// String, integer and float literals convert implicitly, so `connection.command(["HINCRBY", key, "f", 1])` works.
/// Integers are encoded straight into the command buffer, without an intermediate `String`.
public enum RESPArg: Sendable, Equatable {
    /// Text, sent as its UTF-8 bytes.
    case string(String)
    /// Raw bytes; binary-safe.
    case bytes([UInt8])
    /// A decimal integer.
    case int(Int64)
    /// A floating-point number in Swift's shortest round-trip notation (`inf` and `-inf` are valid for Redis).
    case double(Double)
}

extension RESPArg: ExpressibleByStringInterpolation {
    /// Creates a `.string` argument from a literal or an interpolation.
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension RESPArg: ExpressibleByIntegerLiteral {
    /// Creates an `.int` argument from a literal.
    public init(integerLiteral value: Int64) {
        self = .int(value)
    }
}

extension RESPArg: ExpressibleByFloatLiteral {
    /// Creates a `.double` argument from a literal.
    public init(floatLiteral value: Double) {
        self = .double(value)
    }
}
