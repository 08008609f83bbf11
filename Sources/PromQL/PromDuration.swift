/// A duration as Prometheus and Alertmanager write them: `5m`, `1h30m`, `90s`, `500ms`, `0`.
///
/// Units (`y` = 365d, `w`, `d`, `h`, `m`, `s`, `ms`) must appear in that order, each at most once,
/// as Prometheus's `model.ParseDuration` requires.
public struct PromDuration: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The length in milliseconds.
    public var milliseconds: Int64

    /// A duration of `milliseconds`.
    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// A duration of whole `seconds`.
    public static func seconds(_ seconds: Int64) -> PromDuration { PromDuration(milliseconds: seconds * 1000) }

    /// A duration of whole `minutes`.
    public static func minutes(_ minutes: Int64) -> PromDuration { .seconds(minutes * 60) }

    /// Zero.
    public static let zero = PromDuration(milliseconds: 0)

    private static let units: [(String, Int64)] = [
        ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000),
        ("s", 1000), ("ms", 1),
    ]

    /// Parses `text`; `nil` if it is not a valid Prometheus duration.
    public init?(_ text: String) {
        if text == "0" {
            self.init(milliseconds: 0)
            return
        }
        let scalars = Array(text.unicodeScalars)
        var index = 0
        var total: Int64 = 0
        var nextUnit = 0
        guard !scalars.isEmpty else { return nil }
        while index < scalars.count {
            var number: Int64 = 0
            let start = index
            while index < scalars.count, let digit = Int64(exactly: scalars[index].value), (48...57).contains(digit) {
                let (product, overflow) = number.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                number = product + (digit - 48)
                index += 1
            }
            guard index > start, index < scalars.count else { return nil }
            var unit = String(scalars[index])
            if unit == "m", index + 1 < scalars.count, scalars[index + 1] == "s" { unit = "ms" }
            index += unit.count
            guard let position = Self.units[nextUnit...].firstIndex(where: { $0.0 == unit }) else { return nil }
            nextUnit = position + 1
            let (scaled, overflow) = number.multipliedReportingOverflow(by: Self.units[position].1)
            guard !overflow, total <= Int64.max - scaled else { return nil }
            total += scaled
        }
        self.init(milliseconds: total)
    }

    /// Prometheus's form: `0s`, `1h30m`, `1w`, `90d` (years and weeks only when exact).
    public var description: String {
        var rest = milliseconds
        if rest == 0 { return "0s" }
        var text = rest < 0 ? "-" : ""
        rest = rest.magnitude > Int64.max.magnitude ? Int64.max : abs(rest)
        for (unit, size) in Self.units {
            if (unit == "y" || unit == "w") && rest % size != 0 { continue }
            let count = rest / size
            if count > 0 {
                text += "\(count)\(unit)"
                rest -= count * size
            }
        }
        return text
    }

    /// Orders by length.
    public static func < (lhs: PromDuration, rhs: PromDuration) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// Milliseconds of `text`, nil when it is not a Prometheus duration.
    public static func milliseconds(_ text: String) -> Int64? { PromDuration(text)?.milliseconds }

    /// The form of a `window` label: days, hours, minutes, seconds, milliseconds (`5m`, `1h30m`, `7d`; never
    /// weeks or years, so labels read as configured).
    public static func format(_ ms: Int64) -> String {
        if ms == 0 { return "0s" }
        var rest = ms
        var out = ""
        for (name, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            if rest >= size {
                out += "\(rest / size)\(name)"
                rest %= size
            }
        }
        return out
    }
}
