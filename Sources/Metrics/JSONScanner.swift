/// A validating JSON tokenizer over the bytes of one line.
///
/// Ingest decodes hundreds of thousands of lines per second, so instead of `JSONDecoder` /
/// `JSONSerialization` (which build a `String` or `NSObject` for every key and value and allocate per line)
/// this walks the raw bytes once, validates syntax and UTF-8 everywhere, and only reports where values are.
/// It never allocates; nesting is tracked in a bit stack rather than by recursion, so hostile input cannot
/// exhaust the stack.
struct JSONScanner {
    /// The deepest nesting accepted inside a skipped value.
    static let maxDepth = 64

    /// The first byte of the line.
    let base: UnsafePointer<UInt8>
    /// The number of bytes in the line.
    let end: Int
    /// The current read offset.
    var pos: Int = 0

    /// Creates a scanner over `count` bytes at `base`.
    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.end = count
    }

    /// The byte at `pos`, or `nil` at the end of the line.
    @inline(__always)
    var current: UInt8? { pos < end ? base[pos] : nil }

    /// Advances over JSON whitespace (space, tab, CR, LF).
    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            let b = base[pos]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            pos += 1
        }
    }

    /// Consumes `byte` or throws a syntax error naming `expected`.
    @inline(__always)
    mutating func expect(_ byte: UInt8, _ expected: StaticString) throws(EventDecodingError) {
        guard pos < end, base[pos] == byte else { throw unexpected(expected) }
        pos += 1
    }

    /// A syntax error at `pos` saying what was expected and what was found instead.
    func unexpected(_ expected: StaticString) -> EventDecodingError {
        guard pos < end else { return .syntax(at: pos, "expected \(expected), found end of line") }
        let b = base[pos]
        if b >= 0x20 && b < 0x7F {
            return .syntax(at: pos, "expected \(expected), found '\(Character(Unicode.Scalar(b)))'")
        }
        return .syntax(at: pos, "expected \(expected), found byte 0x\(String(b, radix: 16, uppercase: true))")
    }

    // MARK: Values

    /// Scans the value at `pos` (after whitespace) and returns where it is; containers are skipped but validated.
    mutating func scanValue() throws(EventDecodingError) -> JSONValue {
        guard pos < end else { throw unexpected("a value") }
        switch base[pos] {
        case UInt8(ascii: "\""):
            return try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try scanNumber()
        case UInt8(ascii: "t"):
            return try scanLiteral("true", .true)
        case UInt8(ascii: "f"):
            return try scanLiteral("false", .false)
        case UInt8(ascii: "n"):
            return try scanLiteral("null", .null)
        case UInt8(ascii: "{"):
            let start = pos
            try skipValue()
            return JSONValue(kind: .object, start: start, end: pos)
        case UInt8(ascii: "["):
            let start = pos
            try skipValue()
            return JSONValue(kind: .array, start: start, end: pos)
        default:
            throw unexpected("a value")
        }
    }

    /// Scans `true`, `false` or `null`.
    private mutating func scanLiteral(_ word: StaticString, _ kind: JSONValue.Kind) throws(EventDecodingError)
        -> JSONValue
    {
        let start = pos
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        for i in 0..<n {
            guard pos < end, base[pos] == w[i] else {
                throw .syntax(at: start, "expected a value (true, false or null?)")
            }
            pos += 1
        }
        return JSONValue(kind: kind, start: start, end: pos)
    }

    /// Skips and validates any JSON value, iteratively.
    mutating func skipValue() throws(EventDecodingError) {
        // One bit per open container, 1 for an object: the closing byte and the need for keys depend on it.
        var objects: UInt64 = 0
        var depth = 0
        while true {
            // Expecting a value.
            skipWhitespace()
            guard pos < end else { throw unexpected("a value") }
            let b = base[pos]
            var closedEmpty = false
            if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                let isObject = b == UInt8(ascii: "{")
                guard depth < Self.maxDepth else {
                    throw .syntax(at: pos, "nesting deeper than \(Self.maxDepth) levels")
                }
                pos += 1
                skipWhitespace()
                if pos < end && base[pos] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    pos += 1
                    closedEmpty = true
                } else {
                    objects = isObject ? objects | (1 << UInt64(depth)) : objects & ~(1 << UInt64(depth))
                    depth += 1
                    if isObject {
                        try scanMemberKey()
                    }
                    continue
                }
            }
            if !closedEmpty {
                _ = try scanValue()
            }
            // After a value: close containers or move on to the next element.
            while true {
                guard depth > 0 else { return }
                skipWhitespace()
                let inObject = objects & (1 << UInt64(depth - 1)) != 0
                guard pos < end else { throw unexpected(inObject ? "',' or '}'" : "',' or ']'") }
                let c = base[pos]
                if c == UInt8(ascii: ",") {
                    pos += 1
                    if inObject {
                        skipWhitespace()
                        try scanMemberKey()
                    }
                    break
                }
                if c == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    pos += 1
                    depth -= 1
                    continue
                }
                throw unexpected(inObject ? "',' or '}'" : "',' or ']'")
            }
        }
    }

    /// Scans `"key" :` inside a skipped object.
    private mutating func scanMemberKey() throws(EventDecodingError) {
        guard pos < end, base[pos] == UInt8(ascii: "\"") else { throw unexpected("a string key") }
        _ = try scanString()
        skipWhitespace()
        try expect(UInt8(ascii: ":"), "':'")
    }

    // MARK: Strings

    /// Scans a string starting at the opening quote, validating escapes and UTF-8.
    mutating func scanString() throws(EventDecodingError) -> JSONValue {
        let quote = pos
        pos += 1
        let start = pos
        var hasEscapes = false
        while true {
            // Eight bytes at a time while none is special: most of a line is plain ASCII string content. A word that
            // holds one moves straight to the first (its lowest flag is exact), not byte by byte up to it: a line's
            // ~20 keys and strings each ended in a byte loop over up to seven plain bytes (perf at full HTTP ingest:
            // this function was ~8 % of the machine).
            while pos &+ 8 <= end {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
                let special = Self.specialBytes(word)
                if special != 0 {
                    pos &+= special.trailingZeroBitCount &>> 3
                    break
                }
                pos &+= 8
            }
            guard pos < end else { throw .syntax(at: quote, "unterminated string") }
            let b = base[pos]
            if b == UInt8(ascii: "\"") {
                let value = JSONValue(kind: .string, start: start, end: pos, hasEscapes: hasEscapes)
                pos += 1
                return value
            } else if b == UInt8(ascii: "\\") {
                hasEscapes = true
                try scanEscape()
            } else if b < 0x20 {
                throw .syntax(at: pos, "control character in string (must be escaped)")
            } else if b < 0x80 {
                pos += 1
            } else {
                try scanUTF8Sequence()
            }
        }
    }

    /// The high bit of each byte of `word` (read little-endian: byte 0 is the lowest) that may be a quote, a
    /// backslash, a control character or non-ASCII; zero when none is. The lowest flag set is exact, so
    /// `trailingZeroBitCount / 8` is the index of the first special byte; flags above it may be false.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        // Classic "has zero byte" / "has byte less than n" bit tricks: a flag without a matching byte needs a borrow,
        // and a borrow starts only at a matching byte and runs upwards, so the lowest flag of each term is a match.
        let isQuote = (quotes &- ones) & ~quotes
        let isBackslash = (backslashes &- ones) & ~backslashes
        let isControl = (word &- ones &* 0x20) & ~word
        return (isQuote | isBackslash | isControl | word) & highs
    }

    /// Validates the escape sequence at `pos` (a backslash) and moves past it.
    private mutating func scanEscape() throws(EventDecodingError) {
        let escape = pos
        guard pos + 1 < end else { throw .syntax(at: escape, "unterminated string") }
        switch base[pos + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            pos += 2
        case UInt8(ascii: "u"):
            let unit = try hex4(at: pos + 2, escape: escape)
            pos += 6
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard pos + 1 < end, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else {
                    throw .syntax(at: escape, "unpaired surrogate in \\u escape")
                }
                let low = try hex4(at: pos + 2, escape: pos)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw .syntax(at: escape, "unpaired surrogate in \\u escape")
                }
                pos += 6
            } else if unit >= 0xDC00 && unit <= 0xDFFF {
                throw .syntax(at: escape, "unpaired surrogate in \\u escape")
            }
        default:
            throw .syntax(at: escape, "invalid escape sequence")
        }
    }

    /// Reads the four hex digits of a `\u` escape at `offset`.
    private func hex4(at offset: Int, escape: Int) throws(EventDecodingError) -> UInt32 {
        guard offset + 4 <= end else { throw .syntax(at: escape, "invalid \\u escape (needs 4 hex digits)") }
        var value: UInt32 = 0
        for i in offset..<offset + 4 {
            guard let digit = Self.hexValue(base[i]) else {
                throw .syntax(at: escape, "invalid \\u escape (needs 4 hex digits)")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// The value of an ASCII hex digit.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }

    /// Validates one multi-byte UTF-8 sequence at `pos` (Unicode Table 3-7) and moves past it.
    private mutating func scanUTF8Sequence() throws(EventDecodingError) {
        let lead = base[pos]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: throw invalidUTF8(at: pos)
        }
        guard pos + length <= end else { throw invalidUTF8(at: pos) }
        let second = base[pos + 1]
        guard second >= low && second <= high else { throw invalidUTF8(at: pos) }
        for i in 2..<length where base[pos + i] & 0xC0 != 0x80 {
            throw invalidUTF8(at: pos)
        }
        pos += length
    }

    /// The error for a malformed UTF-8 sequence at `offset`.
    private func invalidUTF8(at offset: Int) -> EventDecodingError {
        EventDecodingError(reason: "invalid UTF-8 at column \(offset + 1)")
    }

    // MARK: Numbers

    /// Scans a number per the JSON grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func scanNumber() throws(EventDecodingError) -> JSONValue {
        let start = pos
        if base[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < end, Self.isDigit(base[pos]) else { throw .syntax(at: start, "invalid number") }
        if base[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < end && Self.isDigit(base[pos]) { throw .syntax(at: start, "invalid number (leading zero)") }
        } else {
            while pos < end && Self.isDigit(base[pos]) { pos += 1 }
        }
        var isInteger = true
        if pos < end && base[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard pos < end, Self.isDigit(base[pos]) else { throw .syntax(at: start, "invalid number") }
            while pos < end && Self.isDigit(base[pos]) { pos += 1 }
        }
        if pos < end && (base[pos] | 0x20) == UInt8(ascii: "e") {
            isInteger = false
            pos += 1
            if pos < end && (base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-")) { pos += 1 }
            guard pos < end, Self.isDigit(base[pos]) else { throw .syntax(at: start, "invalid number") }
            while pos < end && Self.isDigit(base[pos]) { pos += 1 }
        }
        return JSONValue(kind: .number, start: start, end: pos, isInteger: isInteger)
    }

    /// Whether `b` is an ASCII digit.
    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }
}
