/// Splits template text into literal text and actions, and actions into tokens, as Go's
/// `text/template/parse` lexer does (with `{{-`/`-}}` whitespace trimming and `{{/* */}}` comments).
struct TemplateLexer {
    /// A piece of the template.
    enum Item: Hashable {
        /// Literal text.
        case text(String)
        /// The tokens of one action, and the line it starts on.
        case action([TemplateToken], line: Int)
    }

    /// The template's name, for errors.
    let name: String

    /// The items of `text`.
    func items(_ text: String) throws(TemplateError) -> [Item] {
        var items: [Item] = []
        var rest = Substring(text)
        var line = 1
        var trimNext = false
        while !rest.isEmpty {
            guard let open = rest.range(of: "{{") else {
                items.append(.text(trimNext ? String(rest.trimmingPrefixWhitespace) : String(rest)))
                break
            }
            var literal = rest[..<open.lowerBound]
            var body = rest[open.upperBound...]
            if trimNext { literal = literal.trimmingPrefixWhitespace }
            if body.hasPrefix("- ") || body.hasPrefix("-\t") || body.hasPrefix("-\n") {
                literal = literal.trimmingSuffixWhitespace
                body = body.dropFirst(2)
            }
            if !literal.isEmpty { items.append(.text(String(literal))) }
            line += rest[..<open.upperBound].filter { $0 == "\n" }.count
            let startLine = line
            guard let close = Self.closing(of: body) else {
                throw TemplateError(name: name, line: startLine, message: "unclosed action")
            }
            var inside = body[..<close.lowerBound]
            trimNext = false
            if inside.hasSuffix(" -") || inside.hasSuffix("\t-") || inside.hasSuffix("\n-") {
                inside = inside.dropLast(2)
                trimNext = true
            }
            let trimmed = inside.trimmingPrefixWhitespace.trimmingSuffixWhitespace
            if !(trimmed.hasPrefix("/*") && trimmed.hasSuffix("*/")) {
                items.append(.action(try tokens(trimmed, line: startLine), line: startLine))
            }
            line += body[..<close.upperBound].filter { $0 == "\n" }.count
            rest = body[close.upperBound...]
        }
        return items
    }

    /// The `}}` closing an action, skipping over quoted strings.
    private static func closing(of body: Substring) -> Range<Substring.Index>? {
        var index = body.startIndex
        var quote: Character?
        while index < body.endIndex {
            let character = body[index]
            if let open = quote {
                if character == "\\" && open == "\"" {
                    index = body.index(after: index)
                } else if character == open {
                    quote = nil
                }
            } else if character == "\"" || character == "`" {
                quote = character
            } else if body[index...].hasPrefix("}}") {
                return index..<body.index(index, offsetBy: 2)
            }
            if index < body.endIndex { index = body.index(after: index) }
        }
        return nil
    }

    /// The tokens of one action's text.
    func tokens(_ text: Substring, line: Int) throws(TemplateError) -> [TemplateToken] {
        var tokens: [TemplateToken] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func fail(_ message: String) -> TemplateError { TemplateError(name: name, line: line, message: message) }
        func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_"
        }
        func word() -> String {
            var result = ""
            while index < scalars.count, isWordScalar(scalars[index]) {
                result.unicodeScalars.append(scalars[index])
                index += 1
            }
            return result
        }
        func path() -> [String] {
            var parts: [String] = []
            while index < scalars.count, scalars[index] == ".", index + 1 < scalars.count,
                isWordScalar(scalars[index + 1])
            {
                index += 1
                parts.append(word())
            }
            return parts
        }
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case " ", "\t", "\n", "\r":
                index += 1
            case "|":
                tokens.append(.pipe)
                index += 1
            case "(":
                tokens.append(.leftParen)
                index += 1
            case ")":
                tokens.append(.rightParen)
                index += 1
            case ":":
                guard index + 1 < scalars.count, scalars[index + 1] == "=" else { throw fail("expected :=") }
                tokens.append(.declare)
                index += 2
            case "=":
                tokens.append(.assign)
                index += 1
            case ".":
                let parts = path()
                if parts.isEmpty { index += 1 }
                tokens.append(.field(parts))
            case "$":
                index += 1
                let name = "$" + word()
                tokens.append(.variable(name, path()))
            case "\"":
                index += 1
                var value = ""
                var closed = false
                while index < scalars.count {
                    let current = scalars[index]
                    index += 1
                    if current == "\"" {
                        closed = true
                        break
                    }
                    if current == "\n" { break }
                    if current == "\\", index < scalars.count {
                        let escaped = scalars[index]
                        index += 1
                        switch escaped {
                        case "n": value += "\n"
                        case "t": value += "\t"
                        case "r": value += "\r"
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        case "'": value += "'"
                        case "a": value += "\u{07}"
                        case "b": value += "\u{08}"
                        case "f": value += "\u{0C}"
                        case "v": value += "\u{0B}"
                        default: throw fail("invalid syntax")
                        }
                    } else {
                        value.unicodeScalars.append(current)
                    }
                }
                guard closed else { throw fail("unterminated quoted string") }
                tokens.append(.string(value))
            case "`":
                index += 1
                var value = ""
                var closed = false
                while index < scalars.count {
                    let current = scalars[index]
                    index += 1
                    if current == "`" {
                        closed = true
                        break
                    }
                    value.unicodeScalars.append(current)
                }
                guard closed else { throw fail("unterminated raw quoted string") }
                tokens.append(.string(value))
            case "0"..."9", "-", "+":
                var number = ""
                while index < scalars.count,
                    isWordScalar(scalars[index]) || scalars[index] == "."
                        || "+-".unicodeScalars.contains(scalars[index])
                {
                    number.unicodeScalars.append(scalars[index])
                    index += 1
                }
                guard TemplateNumber.parse(number) != nil else { throw fail("bad number syntax: \(number.goQuoted)") }
                tokens.append(.number(number))
            default:
                guard isWordScalar(scalar) else {
                    throw fail("unexpected \(String(scalar).goQuoted) in command")
                }
                let name = word()
                switch name {
                case "true": tokens.append(.bool(true))
                case "false": tokens.append(.bool(false))
                case "nil": tokens.append(.null)
                default: tokens.append(.identifier(name))
                }
            }
        }
        return tokens
    }
}

extension Substring {
    /// Without leading spaces, tabs, carriage returns and newlines (Go's template trim set).
    var trimmingPrefixWhitespace: Substring { drop { " \t\r\n".contains($0) } }

    /// Without trailing spaces, tabs, carriage returns and newlines.
    var trimmingSuffixWhitespace: Substring {
        var result = self
        while let last = result.last, " \t\r\n".contains(last) { result = result.dropLast() }
        return result
    }
}
