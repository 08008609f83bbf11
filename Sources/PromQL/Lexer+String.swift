extension Lexer {
    /// Scans a quoted string (Go escapes in `"` and `'`, none in backticks) and returns its value.
    mutating func scanString() throws(PromQLError) -> String {
        let start = position
        let quote = bytes[index]
        advance()
        var value: [UInt8] = []
        while true {
            guard let byte = peek(), quote == UInt8(ascii: "`") || byte != UInt8(ascii: "\n") else {
                throw PromQLError(.syntax, "unterminated quoted string", at: start)
            }
            if byte == quote {
                advance()
                return String(decoding: value, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") && quote != UInt8(ascii: "`") {
                value += try scanEscape(quote: quote)
            } else {
                value.append(byte)
                advance()
            }
        }
    }

    /// Scans one escape sequence, the backslash being the current byte.
    private mutating func scanEscape(quote: UInt8) throws(PromQLError) -> [UInt8] {
        let start = position
        advance()
        guard let byte = peek() else { throw PromQLError(.syntax, "escape sequence not terminated", at: start) }
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "a"): 0x07, UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A,
            UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09, UInt8(ascii: "v"): 0x0B, UInt8(ascii: "\\"): 0x5C,
            quote: quote,
        ]
        if let replacement = simple[byte] {
            advance()
            return [replacement]
        }
        let (count, radix, isByte): (Int, UInt32, Bool) =
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7"): (3, 8, true)
            case UInt8(ascii: "x"): (2, 16, true)
            case UInt8(ascii: "u"): (4, 16, false)
            case UInt8(ascii: "U"): (8, 16, false)
            default:
                throw PromQLError(.syntax, "unknown escape sequence '\\\(UnicodeScalar(byte))'", at: start)
            }
        if radix == 16 { advance() }
        var code: UInt32 = 0
        for _ in 0..<count {
            guard let digit = peek(), let value = digit.digitValue, value < radix else {
                throw PromQLError(.syntax, "invalid escape sequence", at: start)
            }
            code = code * radix + value
            advance()
        }
        if isByte {
            guard code <= 0xFF else { throw PromQLError(.syntax, "octal escape value > 255", at: start) }
            return [UInt8(code)]
        }
        guard let scalar = UnicodeScalar(code) else {
            throw PromQLError(.syntax, "escape sequence is an invalid Unicode code point", at: start)
        }
        return Array(String(scalar).utf8)
    }
}

extension UInt8 {
    /// The value of a hexadecimal digit, if this is one.
    var digitValue: UInt32? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(self - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(self - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(self - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
