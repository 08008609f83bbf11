extension Lexer {
    /// Scans a number (`12`, `1.5e-3`, `.5`, `0x1F`, `1_000`) or a duration (`5m`, `1h30m`).
    mutating func scanNumber() throws(PromQLError) -> Token {
        let start = position
        let isHex = peek() == UInt8(ascii: "0") && (peek(1) == UInt8(ascii: "x") || peek(1) == UInt8(ascii: "X"))
        while let byte = peek() {
            if byte.isAlphanumeric || byte == UInt8(ascii: ".") {
                advance()
            } else if !isHex && (byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-"))
                && (bytes[index - 1] | 0x20) == UInt8(ascii: "e") && peek(1)?.isDigit == true
            {
                advance()
            } else {
                break
            }
        }
        let text = text(from: start)
        if let value = NumberSyntax.parseNumber(text) {
            // Literals are finite (Inf is an identifier): an infinite value is one Go's ParseFloat refuses.
            guard value.isFinite else {
                throw PromQLError(.syntax, "error parsing number: \"\(text)\" is out of range", at: start)
            }
            return Token(kind: .number(value), text: text, position: start)
        }
        if let seconds = NumberSyntax.parseDuration(text) {
            guard seconds > 0 else { throw PromQLError(.invalid, "duration must be greater than 0", at: start) }
            return Token(kind: .duration(seconds), text: text, position: start)
        }
        throw PromQLError(.syntax, "bad number or duration syntax: \"\(text)\"", at: start)
    }
}
