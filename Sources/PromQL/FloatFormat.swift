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
        let text = value.magnitude.description
        let parts = text.split(separator: "e")
        let mantissa = parts[0]
        let exponent = parts.count > 1 ? Int(parts[1].replacing("+", with: "")) ?? 0 : 0
        var digits = mantissa.replacing(".", with: "")
        var point =
            (mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) }
                ?? mantissa.count) + exponent
        while digits.first == "0" && digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0" && digits.count > 1 { digits.removeLast() }
        return (sign, digits == "0" ? "0" : String(digits), point)
    }
}
