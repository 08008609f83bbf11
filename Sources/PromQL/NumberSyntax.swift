import Foundation

/// Prometheus's number and duration literal rules.
enum NumberSyntax {
    /// The value of a number literal as Prometheus reads it (Go's `ParseInt(s, 0, 64)`, then
    /// `ParseFloat`): decimal, `0x` hexadecimal, a leading `0` meaning octal, `_` between digits. A well-formed literal
    /// Go refuses as out of range — a decimal beyond ±1.8e308, a hexadecimal integer beyond 2^63 − 1 (`ParseInt`
    /// overflows and `ParseFloat` takes no hexadecimal without an exponent) — is `.infinity` here, for the lexer to
    /// refuse as `promtool` does (a literal is finite otherwise: `Inf` is an identifier).
    static func parseNumber(_ text: String) -> Double? {
        let lower = text.lowercased()
        if lower.hasPrefix("0x") {
            var digits = Substring(lower.dropFirst(2))
            if digits.first == "_" { digits = digits.dropFirst() }
            guard let value = integer(digits, radix: 16) else { return nil }
            return hexFitsInt64(digits) ? value : .infinity
        }
        let parts = lower.split(separator: "e", maxSplits: 1, omittingEmptySubsequences: false)
        let mantissa = parts[0].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard mantissa.allSatisfy({ $0.isEmpty || digitsWithUnderscores($0) }),
            mantissa.contains(where: { !$0.isEmpty })
        else { return nil }
        if parts.count == 2 {
            var exponent = parts[1]
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            guard digitsWithUnderscores(exponent) else { return nil }
        } else if mantissa.count == 1, lower.count > 1, lower.first == "0",
            let octal = integer(lower.dropFirst(), radix: 8)
        {
            return octal
        }
        return Double(lower.replacingOccurrences(of: "_", with: ""))
    }

    /// Whether hexadecimal digits (underscores allowed) are at most 2^63 − 1.
    private static func hexFitsInt64(_ digits: Substring) -> Bool {
        var value: UInt64 = 0
        for character in digits where character != "_" {
            guard let digit = character.hexDigitValue else { return false }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 16)
            if overflow { return false }
            value = shifted + UInt64(digit)
        }
        return value <= UInt64(Int64.max)
    }

    /// The seconds of a duration such as `1h30m` (units `y w d h m s ms`, longest first, each once).
    static func parseDuration(_ text: String) -> Double? {
        let units: [(String, Double)] = [
            ("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("ms", 0.001), ("m", 60), ("s", 1),
        ]
        let order = ["y", "w", "d", "h", "m", "s", "ms"]
        var rest = Substring(text)
        var seconds = 0.0
        var lastRank = -1
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            rest = rest.dropFirst(digits.count)
            guard let count = Double(digits),
                let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) }),
                let rank = order.firstIndex(of: unit), rank > lastRank
            else { return nil }
            rest = rest.dropFirst(unit.count)
            lastRank = rank
            seconds += count * scale
        }
        return lastRank >= 0 ? seconds : nil
    }

    /// Whether `text` is digits with single underscores only between digits.
    private static func digitsWithUnderscores(_ text: Substring) -> Bool {
        guard let first = text.first, let last = text.last, first.isDigitASCII, last.isDigitASCII else { return false }
        return !text.contains("__") && text.allSatisfy { $0.isDigitASCII || $0 == "_" }
    }

    /// An integer in `radix`, underscores allowed between digits.
    private static func integer(_ text: Substring, radix: Int) -> Double? {
        guard let first = text.first, let last = text.last, first != "_", last != "_", !text.contains("__") else {
            return nil
        }
        var value = 0.0
        for character in text where character != "_" {
            guard let digit = character.hexDigitValue, digit < radix else { return nil }
            value = value * Double(radix) + Double(digit)
        }
        return value
    }
}

extension Character {
    var isDigitASCII: Bool { isASCII && isNumber }
}
