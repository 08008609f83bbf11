/// Converting located values into Swift values; only called for the fields an event keeps.
extension JSONScanner {
    /// The bytes of `value` (string content without quotes, or the literal text).
    @inline(__always)
    func bytes(of value: JSONValue) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + value.start, count: value.end - value.start)
    }

    /// The content of an already validated string value, with escapes resolved.
    func string(_ value: JSONValue) -> String {
        guard value.hasEscapes else { return String(decoding: bytes(of: value), as: UTF8.self) }
        // Unescaping never makes a string longer, so the escaped length is enough capacity.
        return String(unsafeUninitializedCapacity: value.end - value.start) { out in
            unescape(value, into: out)
        }
    }

    /// The content of an already validated string value as bytes, with escapes resolved.
    func unescapedBytes(_ value: JSONValue) -> [UInt8] {
        guard value.hasEscapes else { return Array(bytes(of: value)) }
        return [UInt8](unsafeUninitializedCapacity: value.end - value.start) { out, count in
            count = unescape(value, into: out)
        }
    }

    /// Writes the unescaped content of `value` into `out` and returns the number of bytes written.
    private func unescape(_ value: JSONValue, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var i = value.start
        var n = 0
        while i < value.end {
            let b = base[i]
            guard b == UInt8(ascii: "\\") else {
                out[n] = b
                n += 1
                i += 1
                continue
            }
            let e = base[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out[n] = 0x08
            case UInt8(ascii: "f"): out[n] = 0x0C
            case UInt8(ascii: "n"): out[n] = 0x0A
            case UInt8(ascii: "r"): out[n] = 0x0D
            case UInt8(ascii: "t"): out[n] = 0x09
            case UInt8(ascii: "u"):
                var scalar = hex4Unchecked(at: i)
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    // The scanner guaranteed a low surrogate escape follows.
                    let low = hex4Unchecked(at: i + 2)
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                for unit in UTF8.encode(Unicode.Scalar(scalar)!)! {
                    out[n] = unit
                    n += 1
                }
                continue
            default: out[n] = e  // `"`, `\` and `/` stand for themselves.
            }
            n += 1
        }
        return n
    }

    /// Reads four hex digits already validated by the scanner.
    private func hex4Unchecked(at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in offset..<offset + 4 {
            value = value << 4 | UInt32(Self.hexValue(base[i]) ?? 0)
        }
        return value
    }

    /// The value of an integer literal, or `nil` for fractions, exponents and values beyond `Int`.
    func integer(_ value: JSONValue) -> Int? {
        guard value.kind == .number, value.isInteger else { return nil }
        var i = value.start
        let negative = base[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var result = 0
        while i < value.end {
            let (times10, o1) = result.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(base[i] &- UInt8(ascii: "0")))
            guard !o1 && !o2 else { return nil }
            result = sum
            i += 1
        }
        return negative ? -result : result
    }

    /// The value of a number literal as a `Double`.
    func double(_ value: JSONValue) -> Double {
        JSONNumber.parse(bytes(of: value))
    }
}
