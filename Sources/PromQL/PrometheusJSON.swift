/// The `data` member of Prometheus HTTP API query responses, written byte-for-byte as Prometheus
/// writes them (timestamps as seconds with up to 3 decimals, values as strings).
public enum PrometheusJSON: Sendable {
    /// `{"resultType":"vector","result":[…]}` or `{"resultType":"scalar","result":[t,"v"]}` for an
    /// instant query evaluated at `time` (unix ms).
    public static func instant(_ value: Value, at time: Int64) -> String {
        switch value {
        case .scalar(let scalar):
            return #"{"resultType":"scalar","result":"# + point(time, scalar) + "}"
        case .vector(let samples):
            // Appended to one string, as ``matrix(_:)``: a selection may be 10 000 series.
            let at = timestamp(time)
            var out = #"{"resultType":"vector","result":["#
            out.reserveCapacity(64 + samples.count * (96 + at.utf8.count))
            for (i, sample) in samples.enumerated() {
                if i > 0 { out += "," }
                out += #"{"metric":"#
                out += metric(sample.labels)
                out += #","value":"#
                appendPoint(at, sample.value, to: &out)
                out += "}"
            }
            out += "]}"
            return out
        }
    }

    /// `{"resultType":"matrix","result":[{"metric":{…},"values":[[t,"v"],…]},…]}` for a range query.
    public static func matrix(_ series: [Series]) -> String {
        // Appended to one string (~30 bytes a point): a range of 500 series at 241 steps is 120 000 points, and a
        // string per point and per series joined afterwards was most of writing it.
        var out = #"{"resultType":"matrix","result":["#
        out.reserveCapacity(64 + series.reduce(0) { $0 + 80 + 32 * $1.points.count })
        for (i, s) in series.enumerated() {
            if i > 0 { out += "," }
            out += #"{"metric":"#
            out += metric(s.labels)
            out += #","values":["#
            for (j, p) in s.points.enumerated() {
                if j > 0 { out += "," }
                appendPoint(timestamp(p.timestamp), p.value, to: &out)
            }
            out += "]}"
        }
        out += "]}"
        return out
    }

    /// `{"__name__":"up","job":"api"}`.
    public static func metric(_ labels: Labels) -> String {
        "{" + labels.pairs.map { quote($0.name) + ":" + quote($0.value) }.joined(separator: ",") + "}"
    }

    /// `[1435781451.781,"1"]`.
    public static func point(_ time: Int64, _ value: Double) -> String {
        var out = ""
        appendPoint(timestamp(time), value, to: &out)
        return out
    }

    /// Appends `[time,"value"]` (`time` already written as ``timestamp(_:)`` writes it) to `out`. A formatted value
    /// never needs escaping (digits, `.`, `e`, signs, `NaN`, `Inf`).
    static func appendPoint(_ time: String, _ value: Double, to out: inout String) {
        out += "["
        out += time
        out += ",\""
        out += FloatFormat.prometheus(value)
        out += "\"]"
    }

    /// Unix ms as Prometheus writes seconds: `1435781451.781`, `1435781451`, `-0.5` → `-0.500`.
    public static func timestamp(_ milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let magnitude = milliseconds.magnitude
        let fraction = magnitude % 1000
        guard fraction != 0 else { return sign + String(magnitude / 1000) }
        let digits = String(fraction)
        return sign + String(magnitude / 1000) + "." + String(repeating: "0", count: 3 - digits.count) + digits
    }

    /// A JSON string as Go's `encoding/json` writes it (HTML characters escaped too).
    public static func quote(_ text: String) -> String {
        // Most names and values need no escaping.
        if text.utf8.allSatisfy({
            $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C && $0 != 0x3C && $0 != 0x3E && $0 != 0x26
        }) {
            return "\"" + text + "\""
        }
        return escaped(text)
    }

    /// ``quote(_:)`` escaping every character that needs it, one by one.
    static func escaped(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || "<>&\u{2028}\u{2029}".unicodeScalars.contains(scalar):
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
