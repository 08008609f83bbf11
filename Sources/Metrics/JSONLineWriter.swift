/// Appends one JSON object per line to a reusable byte buffer, escaping strings as RFC 8259 requires.
///
/// The emitter encodes thousands of events per batch into one buffer, so this writes bytes directly
/// instead of going through `JSONEncoder` (one `String` and container per value) or string
/// interpolation. After ``reset()`` the buffer keeps its capacity: a steady emitter stops allocating.
struct JSONLineWriter {
    /// The encoded bytes: zero or more complete lines, plus the line being written.
    var bytes: [UInt8] = []
    /// Whether the object being written still has no member, so the next key needs no comma.
    private var isFirstMember = true

    /// Creates a writer whose buffer starts with `capacity` bytes reserved.
    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its capacity.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// Starts a line's object: `{`.
    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        isFirstMember = true
    }

    /// Ends the line's object: `}` and a newline.
    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(0x0A)
    }

    /// Writes `"key":`, preceded by a comma unless it is the object's first member.
    mutating func key(_ key: String) {
        if isFirstMember {
            isFirstMember = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes a member whose value is a string.
    mutating func member(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    /// Writes a member whose value is an integer.
    mutating func member(_ name: String, _ value: Int) {
        key(name)
        integer(Int64(value))
    }

    /// Writes a member whose value is a finite number (`null` when it is NaN or infinite).
    mutating func member(_ name: String, _ value: Double) {
        key(name)
        number(value)
    }

    /// Writes a JSON string: quotes, with `"`, `\` and control characters escaped; other UTF-8 verbatim.
    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        // Native strings are contiguous; the fallback (bridged strings) makes them so once.
        value.withUTF8 { escape($0) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends the escaped content of a string, copying runs that need no escape in one go.
    private mutating func escape(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for i in 0..<utf8.count {
            let b = utf8[i]
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
            if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
            runStart = i + 1
            bytes.append(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            default:
                bytes.append(UInt8(ascii: "u"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(Self.hexDigit(b >> 4))
                bytes.append(Self.hexDigit(b & 0x0F))
            }
        }
        if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
    }

    /// Writes an integer in decimal without creating a `String`.
    mutating func integer(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // 20 digits hold any UInt64; fill from the end, then copy.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = 20
            repeat {
                i -= 1
                digits[i] = UInt8(ascii: "0") &+ UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }

    /// Writes a number: integral values below 2^53 as integers, others in Swift's shortest round-trip form.
    mutating func number(_ value: Double) {
        guard value.isFinite else {
            literal("null")
            return
        }
        if value == value.rounded(.towardZero) && abs(value) < 9_007_199_254_740_992 {
            integer(Int64(value))
            return
        }
        // `description` is the shortest text that parses back to the same Double, and valid JSON for
        // finite values ("1e-05", "1.5e+20"); short results are small strings, which do not allocate.
        var text = value.description
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Writes `true` or `false`.
    mutating func bool(_ value: Bool) {
        literal(value ? "true" : "false")
    }

    /// Writes a literal as is (`null`, `true`, `false`, or punctuation such as `[`).
    mutating func literal(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The lower-case hexadecimal digit for `nibble` (0…15).
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ nibble &- 10
    }
}
