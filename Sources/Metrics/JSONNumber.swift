/// Converts validated JSON number literals to `Double` without going through `String`.
enum JSONNumber {
    /// Powers of ten that are exact in a `Double`.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses a literal that already matched the JSON number grammar.
    ///
    /// Literals with at most 15 significant digits and a small exponent (nearly all durations and
    /// timestamps) are converted exactly with one multiplication or division of exact values, the
    /// classic Clinger fast path; anything else falls back to the standard library's correctly rounded parser.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double {
        var i = 0
        let n = bytes.count
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        while i < n, JSONScanner.isDigit(bytes[i]) {
            let d = bytes[i] &- UInt8(ascii: "0")
            if mantissa != 0 || d != 0 {
                significant += 1
                mantissa = mantissa &* 10 &+ UInt64(d)
            }
            i += 1
        }
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, JSONScanner.isDigit(bytes[i]) {
                let d = bytes[i] &- UInt8(ascii: "0")
                exponent -= 1
                if mantissa != 0 || d != 0 {
                    significant += 1
                    mantissa = mantissa &* 10 &+ UInt64(d)
                }
                i += 1
            }
        }
        if i < n {  // exponent part
            i += 1
            var exponentNegative = false
            if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            var e = 0
            while i < n {
                e = min(e * 10 + Int(bytes[i] &- UInt8(ascii: "0")), 100_000)
                i += 1
            }
            exponent += exponentNegative ? -e : e
        }
        if mantissa == 0 && significant == 0 { return negative ? -0.0 : 0.0 }
        if significant <= 15 && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / exactPowersOfTen[-exponent] : value * exactPowersOfTen[exponent]
            return negative ? -value : value
        }
        return Double(String(decoding: bytes, as: UTF8.self)) ?? .nan
    }
}
