import PromQL

/// Parses Alertmanager matcher syntax: `severity="critical"`, `team=~"a|b"`, `env!=prod`, or several
/// separated by commas, optionally in braces (`{a="b", c!~"d"}`).
public enum MatcherParser {
    /// The matchers of `text`, or a message saying what is wrong.
    public static func parse(_ text: String) -> Result<[LabelMatcher], MatcherError> {
        var body = Substring(text).trimmingPrefixWhitespace.trimmingSuffixWhitespace
        if body.hasPrefix("{") {
            guard body.hasSuffix("}") else { return .failure(MatcherError("missing closing '}' in \(text.goQuoted)")) }
            body = body.dropFirst().dropLast()
        }
        var matchers: [LabelMatcher] = []
        for part in splitOutsideQuotes(body) {
            let item = part.trimmingPrefixWhitespace.trimmingSuffixWhitespace
            if item.isEmpty { continue }
            switch parseOne(item) {
            case .success(let matcher): matchers.append(matcher)
            case .failure(let error): return .failure(error)
            }
        }
        guard !matchers.isEmpty else { return .failure(MatcherError("no matcher in \(text.goQuoted)")) }
        return .success(matchers)
    }

    /// One `name op value`.
    private static func parseOne(_ text: Substring) -> Result<LabelMatcher, MatcherError> {
        guard let opStart = text.firstIndex(where: { "=!".contains($0) }) else {
            return .failure(MatcherError("bad matcher format: \(String(text).goQuoted)"))
        }
        let name = String(text[..<opStart].trimmingSuffixWhitespace)
        guard LabelName.isValid(name) else { return .failure(MatcherError("invalid label name \(name.goQuoted)")) }
        let rest = text[opStart...]
        let op: LabelMatcher.Operator
        if rest.hasPrefix("=~") {
            op = .regexMatch
        } else if rest.hasPrefix("!~") {
            op = .regexNoMatch
        } else if rest.hasPrefix("!=") {
            op = .notEqual
        } else if rest.hasPrefix("=") {
            op = .equal
        } else {
            return .failure(MatcherError("bad matcher format: \(String(text).goQuoted)"))
        }
        var valueText = rest.dropFirst(op.rawValue.count).trimmingPrefixWhitespace.trimmingSuffixWhitespace
        if valueText.hasPrefix("\"") {
            guard valueText.count >= 2, valueText.hasSuffix("\""),
                let unquoted = unquote(valueText.dropFirst().dropLast())
            else { return .failure(MatcherError("invalid quoted value in \(String(text).goQuoted)")) }
            valueText = Substring(unquoted)
        }
        do {
            return .success(try LabelMatcher(name: name, op: op, value: String(valueText)))
        } catch {
            return .failure(
                MatcherError("invalid regular expression \(String(valueText).goQuoted) in \(String(text).goQuoted)"))
        }
    }

    private static func unquote(_ text: Substring) -> String? {
        var result = ""
        var escaping = false
        for character in text {
            if escaping {
                switch character {
                case "n": result += "\n"
                case "t": result += "\t"
                case "\\", "\"": result.append(character)
                default: result += "\\" + String(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == "\"" {
                return nil
            } else {
                result.append(character)
            }
        }
        return escaping ? nil : result
    }

    private static func splitOutsideQuotes(_ text: Substring) -> [Substring] {
        var parts: [Substring] = []
        var start = text.startIndex
        var inQuotes = false
        var escaping = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if escaping {
                escaping = false
            } else if character == "\\" && inQuotes {
                escaping = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if character == "," && !inQuotes {
                parts.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        parts.append(text[start...])
        return parts
    }
}
