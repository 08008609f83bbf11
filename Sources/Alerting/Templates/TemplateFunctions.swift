import PromQL
import Foundation

/// The functions templates may call: Go's builtins, Prometheus's and Alertmanager's.
enum TemplateFunctions {
    /// A failure inside a function, reported as Go's `error calling NAME: message`.
    struct Failure: Error {
        /// Go's message.
        var message: String
    }

    /// What a function may need besides its arguments.
    struct Context {
        /// The external URL (`externalURL`, `pathPrefix`).
        var externalURL: String
    }

    /// Go's builtins, available in every dialect.
    static let builtins: Set<String> = [
        "and", "or", "not", "len", "index", "eq", "ne", "lt", "le", "gt", "ge", "print", "printf", "println",
        "urlquery",
    ]

    /// Prometheus's rule-template functions that work without a query engine.
    static let prometheus: Set<String> = [
        "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toUpper",
        "toLower", "title", "match", "reReplaceAll", "stripPort", "stripDomain", "pathPrefix", "externalURL",
        "graphLink", "tableLink", "args", "safeHtml", "parseDuration",
    ]

    /// Alertmanager's notification-template functions.
    static let alertmanager: Set<String> = [
        "toUpper", "toLower", "title", "join", "match", "reReplaceAll", "safeHtml", "stringSlice", "trimSpace",
    ]

    /// Calls `name` with `arguments`.
    static func call(_ name: String, _ arguments: [TemplateValue], context: Context) throws(Failure) -> TemplateValue {
        func one() throws(Failure) -> TemplateValue {
            guard arguments.count == 1 else {
                throw Failure(message: "wrong number of args for \(name): want 1 got \(arguments.count)")
            }
            return arguments[0]
        }
        func strings(_ count: Int) throws(Failure) -> [String] {
            guard arguments.count == count else {
                throw Failure(message: "wrong number of args for \(name): want \(count) got \(arguments.count)")
            }
            var result: [String] = []
            for argument in arguments {
                guard case .string(let text) = argument else {
                    throw Failure(message: "wrong type for value; expected string; got \(argument.typeName)")
                }
                result.append(text)
            }
            return result
        }
        switch name {
        case "humanize": return .string(Humanize.si(try float(one())))
        case "humanize1024": return .string(Humanize.binary(try float(one())))
        case "humanizeDuration": return .string(Humanize.duration(try float(one())))
        case "humanizePercentage": return .string(Humanize.percentage(try float(one())))
        case "humanizeTimestamp": return .string(Humanize.timestamp(try float(one())))
        case "toUpper": return .string(try strings(1)[0].uppercased())
        case "toLower": return .string(try strings(1)[0].lowercased())
        case "title": return .string(title(try strings(1)[0]))
        case "trimSpace": return .string(try strings(1)[0].trimmingCharacters(in: .whitespacesAndNewlines))
        case "safeHtml": return .string(try strings(1)[0])
        case "urlquery": return .string(arguments.map(\.printed).joined().queryEscaped)
        case "match":
            let values = try strings(2)
            return .bool(
                try regex(values[0]).firstMatch(in: values[1], range: NSRange(values[1].startIndex..., in: values[1]))
                    != nil)
        case "reReplaceAll":
            let values = try strings(3)
            let text = values[2]
            return .string(
                try regex(values[0]).stringByReplacingMatches(
                    in: text, range: NSRange(text.startIndex..., in: text), withTemplate: values[1]))
        case "stripPort": return .string(splitHostPort(try strings(1)[0])?.host ?? arguments.first?.printed ?? "")
        case "stripDomain":
            let value = try strings(1)[0]
            let (host, port) = splitHostPort(value) ?? (value, nil)
            if host.contains(":") || host.split(separator: ".").allSatisfy({ Int($0) != nil }) { return .string(value) }
            let short = String(host.split(separator: ".").first ?? "")
            return .string(port.map { short + ":" + $0 } ?? short)
        case "pathPrefix": return .string(URLComponents(string: context.externalURL)?.path ?? "")
        case "externalURL": return .string(context.externalURL)
        case "graphLink": return .string("/graph?g0.expr=\(try strings(1)[0].queryEscaped)&g0.tab=0")
        case "tableLink": return .string("/graph?g0.expr=\(try strings(1)[0].queryEscaped)&g0.tab=1")
        case "args":
            return .object(
                Dictionary(uniqueKeysWithValues: arguments.enumerated().map { ("arg\($0.offset)", $0.element) }))
        case "parseDuration":
            let text = try strings(1)[0]
            guard let duration = PromDuration(text) else {
                throw Failure(message: "not a valid duration string: \(text.goQuoted)")
            }
            return .float(Double(duration.milliseconds) / 1000)
        case "join":
            guard arguments.count == 2, case .string(let separator) = arguments[0] else {
                throw Failure(message: "wrong number of args for join: want 2 got \(arguments.count)")
            }
            guard case .list(let items) = arguments[1] else {
                throw Failure(message: "wrong type for value; expected []string; got \(arguments[1].typeName)")
            }
            return .string(items.map(\.printed).joined(separator: separator))
        case "stringSlice": return .list(arguments)
        default: return try TemplateBuiltins.call(name, arguments)
        }
    }

    /// Go's conversion of a template argument to float64 (numbers, and strings that parse).
    static func float(_ value: TemplateValue) throws(Failure) -> Double {
        switch value {
        case .float(let number): return number
        case .int(let number): return Double(number)
        case .string(let text):
            guard let number = GoParseFloat.parse(text) else {
                throw Failure(message: "strconv.ParseFloat: parsing \(text.goQuoted): invalid syntax")
            }
            return number
        default:
            throw Failure(message: "can't convert \(value.typeName) to float")
        }
    }

    private static func regex(_ pattern: String) throws(Failure) -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: pattern)
        } catch {
            throw Failure(message: "error parsing regexp: invalid pattern \(pattern.goQuoted)")
        }
    }

    /// Go's `strings.Title`: the first letter of each word in upper case.
    private static func title(_ text: String) -> String {
        var result = ""
        var previousIsSeparator = true
        for character in text {
            let isWord = character.isLetter || character.isNumber || character == "_" || character == "'"
            result += previousIsSeparator && isWord ? character.uppercased() : String(character)
            previousIsSeparator = !isWord
        }
        return result
    }

    /// Go's `net.SplitHostPort`, or `nil` when `text` has no port.
    private static func splitHostPort(_ text: String) -> (host: String, port: String?)? {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            return (host, String(rest.dropFirst()))
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}
