import Foundation

/// Where metric families are written: the text exposition, or a list of samples for the query engine.
protocol SampleSink {
    /// Starts a family.
    mutating func family(_ name: String, type: String, help: String)
    /// One sample; non-finite values are skipped (an empty window has no value).
    mutating func sample(_ name: String, labels: [(String, String)], _ value: Double)
}

extension SampleSink {
    /// One sample with literal labels.
    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: Double) {
        sample(name, labels: labels.map { ($0.key, $0.value) }, value)
    }
}

/// The samples of the families, for the query engine.
struct SampleList: SampleSink {
    /// Name, labels (without `__name__`) and value of every sample.
    private(set) var samples: [(name: String, labels: [(String, String)], value: Double)] = []

    mutating func family(_ name: String, type: String, help: String) {}

    mutating func sample(_ name: String, labels: [(String, String)], _ value: Double) {
        guard value.isFinite else { return }
        samples.append((name, labels, value))
    }
}

/// Writes the Prometheus text exposition format 0.0.4: HELP and TYPE once per family, escaped label values.
///
/// Built as UTF-8 bytes: at 10 000 series a scrape is ~300 000 samples and ~40 MB, and building it from `String`s
/// (a label value walked by `Character`, each piece an interpolation) was most of the scrape's time.
struct PrometheusText: SampleSink {
    private(set) var bytes: [UInt8] = []

    /// The exposition as text.
    var output: String { String(decoding: bytes, as: UTF8.self) }

    /// Starts a family.
    mutating func family(_ name: String, type: String, help: String) {
        append("# HELP ")
        append(name)
        bytes.append(UInt8(ascii: " "))
        append(Self.escapeHelp(help))
        append("\n# TYPE ")
        append(name)
        bytes.append(UInt8(ascii: " "))
        append(type)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// One sample of the current family; non-finite values are skipped.
    mutating func sample(_ name: String, labels: [(String, String)], _ value: Double) {
        guard value.isFinite else { return }
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (i, label) in labels.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                append(label.0)
                bytes.append(UInt8(ascii: "="))
                bytes.append(UInt8(ascii: "\""))
                appendEscaped(label.1)
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        append(Self.format(value))
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func append(_ s: String) {
        bytes.append(contentsOf: s.utf8)
    }

    /// A label value with `\`, `"` and newline escaped, as the format requires.
    private mutating func appendEscaped(_ s: String) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            default: bytes.append(b)
            }
        }
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    /// HELP text with `\` and newline escaped, as the format requires. Most texts need nothing and are returned as they
    /// are: Foundation's `replacingOccurrences` (through `NSString`) for every family of every scrape was ~4 % of the
    /// collector's CPU under back-to-back scrapes of `/metrics?window=1d`.
    static func escapeHelp(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") }) else { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 8)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            default: out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
