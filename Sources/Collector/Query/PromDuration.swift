/// Prometheus duration strings (`30s`, `5m`, `1h30m`, `1d`, `1w`, `500ms`) in milliseconds.
public enum PromDuration {
    /// Parses `text`; nil when it is not a Prometheus duration.
    public static func milliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
            ("w", 604_800_000), ("y", 31_536_000_000),
        ]
        var rest = Substring(text)
        var total: Int64 = 0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCII).prefix(while: \.isNumber)
            guard let n = Int64(digits), !digits.isEmpty else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else {
                return nil
            }
            rest = rest.dropFirst(unit.0.count)
            total += n * unit.1
        }
        return total
    }

    /// Formats milliseconds the way Prometheus prints durations (`5m`, `1h30m`, `1d`).
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
