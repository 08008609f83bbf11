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
            // Written as bytes into one buffer, as ``matrix(_:)``: a selection may be 10 000 series.
            var at: [UInt8] = []
            appendTimestamp(time, to: &at)
            var out: [UInt8] = []
            out.reserveCapacity(64 + samples.count * (96 + at.count))
            out += #"{"resultType":"vector","result":["#.utf8
            for (i, sample) in samples.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += #"{"metric":"#.utf8
                out += metric(sample.labels).utf8
                out += #","value":"#.utf8
                appendPoint(at, sample.value, to: &out)
                out.append(UInt8(ascii: "}"))
            }
            out += "]}".utf8
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// `{"resultType":"matrix","result":[{"metric":{…},"values":[[t,"v"],…]},…]}` for a range query.
    public static func matrix(_ series: [Series]) -> String {
        // Written as bytes into one buffer (~30 bytes a point): a range of 500 series at 241 steps is 120 000 points,
        // and strings per point (and per number) were most of answering a range query whose steps were kept.
        var out: [UInt8] = []
        out.reserveCapacity(64 + series.reduce(0) { $0 + 80 + 32 * $1.points.count })
        out += #"{"resultType":"matrix","result":["#.utf8
        var time: [UInt8] = []
        for (i, s) in series.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += #"{"metric":"#.utf8
            out += metric(s.labels).utf8
            out += #","values":["#.utf8
            for (j, p) in s.points.enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                time.removeAll(keepingCapacity: true)
                appendTimestamp(p.timestamp, to: &time)
                appendPoint(time, p.value, to: &out)
            }
            out += "]}".utf8
        }
        out += "]}".utf8
        return String(decoding: out, as: UTF8.self)
    }

    /// `{"__name__":"up","job":"api"}`.
    public static func metric(_ labels: Labels) -> String {
        "{" + labels.pairs.map { quote($0.name) + ":" + quote($0.value) }.joined(separator: ",") + "}"
    }

    /// `[1435781451.781,"1"]`.
    public static func point(_ time: Int64, _ value: Double) -> String {
        var at: [UInt8] = []
        appendTimestamp(time, to: &at)
        var out: [UInt8] = []
        appendPoint(at, value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `[time,"value"]` (`time` already written as ``timestamp(_:)`` writes it) to `out`. A formatted value
    /// never needs escaping (digits, `.`, `e`, signs, `NaN`, `Inf`).
    static func appendPoint(_ time: [UInt8], _ value: Double, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        out += time
        out += #",""#.utf8
        FloatFormat.appendPrometheus(value, to: &out)
        out += #""]"#.utf8
    }

    /// ``timestamp(_:)`` appended to `out` as UTF-8.
    static func appendTimestamp(_ milliseconds: Int64, to out: inout [UInt8]) {
        if milliseconds < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = milliseconds.magnitude
        appendDecimal(magnitude / 1000, to: &out)
        let fraction = magnitude % 1000
        guard fraction != 0 else { return }
        // Three digits, as Prometheus's `MarshalTimestamp` pads them (`.050`, `.500`).
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        out.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    /// The decimal digits of `value`.
    private static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var (rest, start) = (value, 20)
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// Seconds with 3 decimals unless whole, as Prometheus writes a timestamp: `1435781451.781`, `1435781451.500`,
    /// `1435781451`.
    public static func timestamp(_ milliseconds: Int64) -> String {
        var out: [UInt8] = []
        appendTimestamp(milliseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
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
