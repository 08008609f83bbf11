import Foundation

/// Prometheus's template number formatters (`template/template.go`), byte for byte.
public enum Humanize {
    /// `humanize`: SI prefixes with 4 significant digits, e.g. 1234567 → `1.235M`, 0.0012 → `1.2m`.
    public static func si(_ value: Double) -> String {
        if value == 0 || !value.isFinite { return g4(value) }
        var value = value
        var prefix = ""
        if abs(value) >= 1 {
            for next in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
                if abs(value) < 1000 { break }
                prefix = next
                value /= 1000
            }
        } else {
            for next in ["m", "u", "n", "p", "f", "a", "z", "y"] {
                if abs(value) >= 1 { break }
                prefix = next
                value *= 1000
            }
        }
        return g4(value) + prefix
    }

    /// `humanize1024`: binary prefixes (`ki`, `Mi`, …) with 4 significant digits.
    public static func binary(_ value: Double) -> String {
        if abs(value) <= 1 || !value.isFinite { return g4(value) }
        var value = value
        var prefix = ""
        for next in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
            if abs(value) < 1024 { break }
            prefix = next
            value /= 1024
        }
        return g4(value) + prefix
    }

    /// `humanizeDuration`: seconds as `1d 2h 3m 4s`, `1m 1s`, `1.5s` or `500ms`.
    public static func duration(_ value: Double) -> String {
        if !value.isFinite { return g4(value) }
        if value == 0 { return g4(value) + "s" }
        if abs(value) >= 1 {
            let sign = value < 0 ? "-" : ""
            let magnitude = abs(value)
            let whole = Int64(magnitude)
            let (seconds, minutes, hours, days) = (whole % 60, whole / 60 % 60, whole / 3600 % 24, whole / 86_400)
            if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
            if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
            if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
            return sign + g4(magnitude) + "s"
        }
        var value = value
        var prefix = ""
        for next in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if abs(value) >= 1 { break }
            prefix = next
            value *= 1000
        }
        return g4(value) + prefix + "s"
    }

    /// `humanizePercentage`: a ratio as a percentage with 4 significant digits, 0.1234 → `12.34%`.
    public static func percentage(_ value: Double) -> String {
        g4(value * 100) + "%"
    }

    /// `humanizeTimestamp`: unix seconds as Go prints a UTC `time.Time`,
    /// e.g. `2024-05-01 12:00:00 +0000 UTC`.
    public static func timestamp(_ value: Double) -> String {
        if !value.isFinite { return g4(value) }
        // Prometheus converts through model.Time, which has millisecond precision.
        let millis = Int64(value * 1e9) / 1_000_000
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = millis - seconds * 1000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        var text = String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0,
            parts.minute ?? 0, parts.second ?? 0)
        if fraction != 0 {
            var digits = String(format: "%03lld", fraction)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + " +0000 UTC"
    }

    /// Go's `fmt.Sprintf("%.4g", value)`.
    static func g4(_ value: Double) -> String {
        GoFloat.format(value, verb: "g", precision: 4)
    }
}
