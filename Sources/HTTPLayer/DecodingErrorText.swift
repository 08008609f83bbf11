import Foundation

/// A JSON body that `JSONDecoder` refused, said as a person reads it: which field, and what it should have been
/// (`missing field 'matchers[0].name'`, `field 'startsAt' is not a string`), rather than the error's dump.
public enum DecodingErrorText {
    /// What is wrong with the body, for an error message.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return "the body is not \(name(type))" }
            return "field '\(path(context.codingPath))' is not \(name(type))"
        case .valueNotFound(let type, let context):
            return "field '\(path(context.codingPath))' is null; it must be \(name(type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the body is not JSON" }
            return "field '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// `a.b[2].c`.
    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += (out.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return out
    }

    private static func name(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Double.Type: "a number"
        case is [Any].Type: "an array"
        case is [String: Any].Type: "an object"
        default: "an object (\(type))"
        }
    }
}
