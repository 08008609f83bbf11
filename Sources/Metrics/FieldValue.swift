/// The value of an extra field written with an event (kept raw by the collector, not aggregated).
public enum FieldValue: Sendable, Equatable {
    /// A string.
    case string(String)
    /// An integer.
    case int(Int64)
    /// A number; NaN and infinities are written as `null`.
    case double(Double)
    /// A boolean.
    case bool(Bool)
    /// A list of values.
    case array([FieldValue])
    /// JSON `null`.
    case null
}

extension FieldValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral
{
    /// A string value from a literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer value from a literal.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A number value from a literal.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A boolean value from a literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONLineWriter {
    /// Writes a field value.
    mutating func value(_ value: FieldValue) {
        switch value {
        case .string(let s): string(s)
        case .int(let n): integer(n)
        case .double(let d): number(d)
        case .bool(let b): bool(b)
        case .null: literal("null")
        case .array(let items):
            literal("[")
            for (i, item) in items.enumerated() {
                if i > 0 { literal(",") }
                self.value(item)
            }
            literal("]")
        }
    }
}
