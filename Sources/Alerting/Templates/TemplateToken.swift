/// A token inside a template action (`{{ … }}`).
enum TemplateToken: Hashable, Sendable {
    /// A function name or keyword (`if`, `else`, `end`, `range`, `with`).
    case identifier(String)
    /// `.`, `.Field` or `.A.B`.
    case field([String])
    /// `$`, `$name` or `$name.A.B`.
    case variable(String, [String])
    /// A quoted or raw string literal, unescaped.
    case string(String)
    /// A number literal as written.
    case number(String)
    /// `true` / `false`.
    case bool(Bool)
    /// `nil`.
    case null
    /// `|`
    case pipe
    /// `(`
    case leftParen
    /// `)`
    case rightParen
    /// `:=`
    case declare
    /// `=`
    case assign

    /// How Go's parser quotes the token in errors.
    var quoted: String {
        switch self {
        case .identifier(let name): "<\(name)>"
        case .field(let path): "<.\(path.joined(separator: "."))>"
        case .variable(let name, let path): "<\(([name] + path).joined(separator: "."))>"
        case .string(let text): text.goQuoted
        case .number(let text): "<\(text)>"
        case .bool(let value): "<\(value)>"
        case .null: "<nil>"
        case .pipe: "<|>"
        case .leftParen: "<(>"
        case .rightParen: "<)>"
        case .declare: "<:=>"
        case .assign: "<=>"
        }
    }
}
