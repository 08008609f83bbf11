import CRE2

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
    /// Anything else, compiled once by RE2 (Prometheus's syntax, linear-time matching) with `.` matching newlines.
    case compiled(RE2Pattern)

    /// Compiles `pattern`; throws the compiler's reason if it is not a valid RE2 expression.
    init(_ pattern: String) throws(RE2Pattern.CompileError) {
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
            self = .compiled(try RE2Pattern(pattern))
        }
    }

    /// Whether the whole of `value` matches.
    func matches(_ value: String) -> Bool {
        switch self {
        case .literal(let literal): value == literal
        case .alternatives(let set): set.contains(value)
        case .anything: true
        case .nonEmpty: !value.isEmpty
        case .compiled(let regex): regex.fullMatch(value)
        }
    }
}

/// A pattern compiled by RE2 through the `CRE2` shim. RE2 matches in time linear in the input whatever the
/// pattern, so no label regex in a query can stall an evaluation (a backtracking engine can take exponential time
/// on `(a+)+$`), and its syntax is the one Prometheus (Go's regexp) accepts.
final class RE2Pattern: Sendable {
    /// Why a pattern did not compile, in RE2's words.
    struct CompileError: Error, Sendable {
        var reason: String
    }

    // RE2 objects are immutable after compilation and documented as safe to match from several threads.
    private nonisolated(unsafe) let handle: OpaquePointer

    /// Compiles `pattern`.
    init(_ pattern: String) throws(CompileError) {
        // RE2 takes `\C` (any single byte, which can split a UTF-8 character); Go's regexp, Prometheus's, refuses it.
        var escaped = false
        for character in pattern.unicodeScalars {
            if escaped, character == "C" { throw CompileError(reason: "invalid escape sequence: `\\C`") }
            escaped = !escaped && character == "\\"
        }
        var error = [CChar](repeating: 0, count: 256)
        var utf8 = Array(pattern.utf8)
        if utf8.isEmpty { utf8 = [0] }
        let length = pattern.utf8.count
        let compiled = utf8.withUnsafeBufferPointer { bytes in
            error.withUnsafeMutableBufferPointer { buffer in
                bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) { text in
                    opsight_re2_compile(text, length, buffer.baseAddress, buffer.count)
                }
            }
        }
        guard let compiled else {
            throw CompileError(reason: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        handle = compiled
    }

    deinit { opsight_re2_free(handle) }

    /// Whether the whole of `value` matches.
    func fullMatch(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                opsight_re2_full_match(handle, text.baseAddress, text.count) == 1
            }
        }
    }
}
