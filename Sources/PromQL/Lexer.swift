/// Splits a PromQL text into tokens, tracking line, column and byte offset.
struct Lexer {
    let bytes: [UInt8]
    var index = 0
    var line = 1
    var column = 1

    /// Creates a lexer over `text`.
    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    /// All tokens of `text`, ending with `.end`, or with `.error` where the text cannot be read
    /// (so that the parser reports whichever problem comes first in the text).
    static func tokenize(_ text: String) -> [Token] {
        var lexer = Lexer(text)
        var tokens: [Token] = []
        while true {
            do {
                let token = try lexer.next()
                tokens.append(token)
                if token.kind == .end { return tokens }
            } catch {
                tokens.append(Token(kind: .error(error), text: "", position: error.position))
                return tokens
            }
        }
    }

    /// The current position.
    var position: SourcePosition { SourcePosition(line: line, column: column, offset: index) }

    /// The byte at `index + ahead`, if any.
    func peek(_ ahead: Int = 0) -> UInt8? {
        index + ahead < bytes.count ? bytes[index + ahead] : nil
    }

    /// Consumes one byte, keeping line and column current.
    mutating func advance() {
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }

    /// The source text from `start` to the current index.
    func text(from start: SourcePosition) -> String {
        String(decoding: bytes[start.offset..<index], as: UTF8.self)
    }

    /// The next token.
    mutating func next() throws(PromQLError) -> Token {
        skipSpaceAndComments()
        let start = position
        guard let byte = peek() else { return Token(kind: .end, text: "", position: start) }
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"):
            let value = try scanString()
            return Token(kind: .string(value), text: text(from: start), position: start)
        case _ where byte.isDigit || (byte == UInt8(ascii: ".") && peek(1)?.isDigit == true):
            return try scanNumber()
        case _ where byte.isIdentifierStart:
            while let next = peek(), next.isIdentifierContinue { advance() }
            let word = text(from: start)
            return Token(kind: .identifier(word), text: word, position: start)
        default:
            return try scanSymbol()
        }
    }

    private mutating func skipSpaceAndComments() {
        while let byte = peek() {
            if byte == UInt8(ascii: "#") {
                while let next = peek(), next != UInt8(ascii: "\n"), next != UInt8(ascii: "\r") { advance() }
            } else if byte.isSpace {
                advance()
            } else {
                return
            }
        }
    }

    private mutating func scanSymbol() throws(PromQLError) -> Token {
        let start = position
        let byte = bytes[index]
        let two = peek(1).map { String(decoding: [byte, $0], as: UTF8.self) }
        if let two, ["==", "!=", "=~", "!~", "<=", ">="].contains(two) {
            advance()
            advance()
            return Token(kind: .symbol(two), text: two, position: start)
        }
        let single = "(){}[],:@+-*/%^=<>"
        guard byte < 0x80, single.utf8.contains(byte) else {
            let scalar = String(decoding: bytes[index..<min(index + byte.utf8Length, bytes.count)], as: UTF8.self)
            throw PromQLError(.syntax, "unexpected character '\(scalar)'", at: start)
        }
        advance()
        let symbol = String(UnicodeScalar(byte))
        return Token(kind: .symbol(symbol), text: symbol, position: start)
    }
}

extension UInt8 {
    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    var isLetter: Bool {
        (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z"))
            || (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z"))
    }
    var isIdentifierStart: Bool { isLetter || self == UInt8(ascii: "_") || self == UInt8(ascii: ":") }
    var isIdentifierContinue: Bool { isIdentifierStart || isDigit }
    var isAlphanumeric: Bool { isLetter || isDigit || self == UInt8(ascii: "_") }
    var isSpace: Bool { self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D }
    /// The length of the UTF-8 sequence this byte starts.
    var utf8Length: Int { self < 0xC0 ? 1 : self < 0xE0 ? 2 : self < 0xF0 ? 3 : 4 }
}
