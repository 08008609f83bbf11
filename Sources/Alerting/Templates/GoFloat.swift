import Foundation
import PromQL

/// Go's float formatting (`fmt`/`strconv`) where it differs from C's: shortest `%g`/`%v`,
/// `+Inf`/`NaN`.
enum GoFloat {
    /// Formats `value` as Go's `fmt` does for `verb` (`e E f F g G`) and an optional precision
    /// (`nil`: Go's default, i.e. shortest for `g`, 6 for `e`/`f`); `flags` and `width` as in printf.
    static func format(_ value: Double, verb: Character, precision: Int?, flags: String = "", width: Int? = nil)
        -> String
    {
        if !value.isFinite {
            var text = value.isNaN ? "NaN" : (value < 0 ? "-Inf" : "+Inf")
            if value.isNaN && (flags.contains("+") || flags.contains(" ")) {
                text = (flags.contains("+") ? "+" : " ") + text
            }
            return pad(text, width: width, left: flags.contains("-"))
        }
        if (verb == "g" || verb == "G") && precision == nil {
            var text = shortestG(value, upper: verb == "G")
            if flags.contains("+") && value.sign == .plus { text = "+" + text }
            if let width, text.count < width {
                if flags.contains("-") { return text + String(repeating: " ", count: width - text.count) }
                if flags.contains("0") {
                    let signed = text.hasPrefix("-") || text.hasPrefix("+")
                    let sign = signed ? String(text.prefix(1)) : ""
                    return sign + String(repeating: "0", count: width - text.count) + text.dropFirst(sign.count)
                }
                return String(repeating: " ", count: width - text.count) + text
            }
            return text
        }
        var spec = "%" + flags.filter { "-+ 0#".contains($0) }
        if let width { spec += String(width) }
        spec += "." + String(precision ?? 6) + String(verb == "F" ? "f" : verb)
        return String(format: spec, value)
    }

    /// `strconv.FormatFloat(value, 'g', -1, 64)` as `fmt`'s `%v` uses it: shortest round-trip
    /// digits, exponent form (`1e+06`, `1.5e-05`) when the decimal exponent is below -4 or at least 6.
    static func shortestG(_ value: Double, upper: Bool = false) -> String {
        // PromQL's decomposition: Prometheus prints sample values the same way.
        let (sign, digits, point) = FloatFormat.decompose(value)
        if digits == "0" { return sign + "0" }
        let exponent = point - 1
        guard exponent < -4 || exponent >= 6 else { return sign + fixed(digits, point) }
        let mantissa = digits.count > 1 ? digits.prefix(1) + "." + digits.dropFirst() : Substring(digits)
        let magnitude = String(exponent.magnitude)
        return sign + mantissa + (upper ? "E" : "e") + (exponent < 0 ? "-" : "+")
            + (magnitude.count < 2 ? "0" : "") + magnitude
    }

    private static func fixed(_ digits: String, _ point: Int) -> String {
        if point <= 0 { return "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return digits + String(repeating: "0", count: point - digits.count) }
        let split = digits.index(digits.startIndex, offsetBy: point)
        return digits[..<split] + "." + digits[split...]
    }

    private static func pad(_ text: String, width: Int?, left: Bool) -> String {
        guard let width, text.count < width else { return text }
        let fill = String(repeating: " ", count: width - text.count)
        return left ? text + fill : fill + text
    }
}
