/// Parses Go-style duration strings (`"350ms"`, `"1.2s"`, `"1m30s"`, `"250us"`, `"100ns"`) into milliseconds.
enum DurationParser {
    /// The duration in milliseconds, or `nil` when `s` is not a Go duration.
    ///
    /// Accepts what Go's `time.ParseDuration` accepts: an optional sign, then one or more decimal numbers
    /// each followed by a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`); `"0"` alone needs no unit.
    static func milliseconds(_ s: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0
        var negative = false
        if i < s.count, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") {
            negative = s[i] == UInt8(ascii: "-")
            i += 1
        }
        if s.count - i == 1 && s[i] == UInt8(ascii: "0") { return 0 }
        guard i < s.count else { return nil }
        var total = 0.0
        while i < s.count {
            let numberStart = i
            var sawDigit = false
            while i < s.count, JSONScanner.isDigit(s[i]) {
                sawDigit = true
                i += 1
            }
            if i < s.count, s[i] == UInt8(ascii: ".") {
                i += 1
                while i < s.count, JSONScanner.isDigit(s[i]) {
                    sawDigit = true
                    i += 1
                }
            }
            guard sawDigit,
                let value = Double(String(decoding: UnsafeBufferPointer(rebasing: s[numberStart..<i]), as: UTF8.self))
            else { return nil }
            guard let (multiplier, divisor, unitLength) = unit(s, at: i) else { return nil }
            i += unitLength
            // Dividing by an exact power of ten keeps "100ns" exactly 0.0001 ms; multiplying by 1e-6 would not.
            total += value * multiplier / divisor
        }
        return negative ? -total : total
    }

    /// The unit at `i`: its length in milliseconds as multiplier / divisor, and its length in bytes.
    private static func unit(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> (Double, Double, Int)? {
        guard i < s.count else { return nil }
        let next: UInt8? = i + 1 < s.count ? s[i + 1] : nil
        switch s[i] {
        case UInt8(ascii: "n") where next == UInt8(ascii: "s"): return (1, 1e6, 2)
        case UInt8(ascii: "u") where next == UInt8(ascii: "s"): return (1, 1e3, 2)
        case 0xC2 where next == 0xB5 && i + 2 < s.count && s[i + 2] == UInt8(ascii: "s"): return (1, 1e3, 3)  // µ
        case 0xCE where next == 0xBC && i + 2 < s.count && s[i + 2] == UInt8(ascii: "s"): return (1, 1e3, 3)  // μ
        case UInt8(ascii: "m") where next == UInt8(ascii: "s"): return (1, 1, 2)
        case UInt8(ascii: "s"): return (1000, 1, 1)
        case UInt8(ascii: "m"): return (60_000, 1, 1)
        case UInt8(ascii: "h"): return (3_600_000, 1, 1)
        default: return nil
        }
    }
}
