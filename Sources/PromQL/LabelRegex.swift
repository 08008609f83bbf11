import Foundation

/// A fully anchored label regex, with fast paths for the shapes dashboards use most.
enum LabelRegex: Sendable {
    /// A pattern without metacharacters: plain equality.
    case literal(String)
    /// `a|b|c` of literals: set membership.
    case alternatives(Set<String>)
    /// `.*`
    case anything
    /// `.+`
    case nonEmpty
    /// Anything else, compiled as `\A(?:pattern)\z` with `.` matching newlines.
    case compiled(NSRegularExpression)

    /// Compiles `pattern`; throws if it is not a valid regular expression.
    init(_ pattern: String) throws {
        let metacharacters = Set("\\.+*?()|[]{}^$")
        if pattern == ".*" {
            self = .anything
        } else if pattern == ".+" {
            self = .nonEmpty
        } else if !pattern.contains(where: metacharacters.contains) {
            self = .literal(pattern)
        } else if !pattern.contains(where: { $0 != "|" && metacharacters.contains($0) }) {
            self = .alternatives(Set(pattern.split(separator: "|", omittingEmptySubsequences: false).map(String.init)))
        } else {
            self = .compiled(
                try NSRegularExpression(pattern: "\\A(?:\(pattern))\\z", options: [.dotMatchesLineSeparators]))
        }
    }

    /// Whether the whole of `value` matches.
    func matches(_ value: String) -> Bool {
        switch self {
        case .literal(let literal): value == literal
        case .alternatives(let set): set.contains(value)
        case .anything: true
        case .nonEmpty: !value.isEmpty
        case .compiled(let regex):
            regex.firstMatch(in: value, options: [], range: NSRange(location: 0, length: value.utf16.count)) != nil
        }
    }
}
