/// Go's float formatting, as Prometheus prints sample values.
public enum FloatFormat: Sendable {
    /// The value as the Prometheus HTTP API writes it: `"NaN"`, `"+Inf"`, `"-Inf"`, shortest
    /// round-trip digits, in exponent form (`1e-07`, `1.5e+21`) only below 1e-6 or from 1e21.
    public static func prometheus(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        let magnitude = value.magnitude
        if magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21) { return exponent(value) }
        return fixed(value)
    }

    /// Go's `strconv.FormatFloat(value, 'f', -1, 64)`: shortest round-trip digits, no exponent.
    public static func fixed(_ value: Double) -> String {
        if !value.isFinite { return prometheus(value) }
        let (sign, digits, point) = decompose(value)
        if digits == "0" { return sign + "0" }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
        let split = digits.index(digits.startIndex, offsetBy: point)
        return sign + digits[..<split] + "." + digits[split...]
    }

    /// Go's `strconv.FormatFloat(value, 'e', -1, 64)`, e.g. `1e-07`, `1.5e+21`.
    public static func exponent(_ value: Double) -> String {
        if !value.isFinite { return prometheus(value) }
        let (sign, digits, point) = decompose(value)
        let exponent = digits == "0" ? 0 : point - 1
        let mantissa = digits.count > 1 ? digits.prefix(1) + "." + digits.dropFirst() : digits
        let magnitude = String(exponent.magnitude)
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" : "") + magnitude
    }

    /// Sign, shortest significant digits (no leading or trailing zeros; "0" for zero) and the number
    /// of digits before the decimal point, from Swift's shortest round-trip `description`. Shared with the
    /// alerting templates' Go formatting.
    public static func decompose(_ value: Double) -> (sign: String, digits: String, point: Int) {
        let sign = value.sign == .minus ? "-" : ""
        // `description` is digits with at most one point, then perhaps `e`, a sign and the exponent's digits
        // ("123.45", "1.2e-07", "1e+21", "5e-324"). Read byte by byte: splitting and replacing through the
        // generic string algorithms was a quarter of a range query's answer (a float per point).
        let text = value.magnitude.description
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        var point = 0
        var seenPoint = false
        var inExponent = false
        var exponent = 0
        var exponentSign = 1
        for byte in text.utf8 {
            if inExponent {
                switch byte {
                case UInt8(ascii: "-"): exponentSign = -1
                case UInt8(ascii: "0")...UInt8(ascii: "9"): exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
                default: break
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "."): seenPoint = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
            default:
                digits.append(byte)
                if !seenPoint { point += 1 }
            }
        }
        point += exponentSign * exponent
        var start = 0
        while start < digits.count - 1 && digits[start] == UInt8(ascii: "0") {
            start += 1
            point -= 1
        }
        var end = digits.count
        while end - start > 1 && digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
        return (sign, String(decoding: digits[start..<end], as: UTF8.self), point)
    }
}
