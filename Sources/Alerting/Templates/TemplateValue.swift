/// A value inside a template: what Go's `text/template` would hold in an `interface{}`.
public enum TemplateValue: Sendable, Hashable {
    /// Go's `nil` (prints as `<no value>`).
    case null
    /// A string.
    case string(String)
    /// A float64.
    case float(Double)
    /// An int.
    case int(Int)
    /// A bool.
    case bool(Bool)
    /// A `map[string]string` such as `$labels`: a missing key reads as the empty string.
    case labels([String: String])
    /// A struct or `map[string]interface{}`: fields by name.
    case object([String: TemplateValue])
    /// A slice.
    case list([TemplateValue])

    /// Go's truth: false, 0, nil, "" and empty collections are false.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .string(let text): !text.isEmpty
        case .float(let value): value != 0
        case .int(let value): value != 0
        case .bool(let value): value
        case .labels(let map): !map.isEmpty
        case .object(let map): !map.isEmpty
        case .list(let items): !items.isEmpty
        }
    }

    /// Go's type name, for error messages.
    var typeName: String {
        switch self {
        case .null: "<nil>"
        case .string: "string"
        case .float: "float64"
        case .int: "int"
        case .bool: "bool"
        case .labels: "map[string]string"
        case .object: "map[string]interface {}"
        case .list: "[]interface {}"
        }
    }

    /// How Go's `fmt.Sprint` prints the value (`%v`).
    var printed: String {
        switch self {
        case .null: "<no value>"
        case .string(let text): text
        case .float(let value): GoFloat.format(value, verb: "g", precision: nil)
        case .int(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case .labels(let map):
            "map[" + map.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ") + "]"
        case .object(let map):
            "map["
                + map.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.printedInside)" }
                .joined(separator: " ") + "]"
        case .list(let items): "[" + items.map(\.printedInside).joined(separator: " ") + "]"
        }
    }

    /// As printed inside a collection, where nil is `<nil>`.
    private var printedInside: String {
        if case .null = self { return "<nil>" }
        return printed
    }
}
