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
struct PrometheusText: SampleSink {
    private(set) var output = ""

    /// Starts a family.
    mutating func family(_ name: String, type: String, help: String) {
        output += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    /// One sample of the current family; non-finite values are skipped.
    mutating func sample(_ name: String, labels: [(String, String)], _ value: Double) {
        guard value.isFinite else { return }
        output += name
        if !labels.isEmpty {
            output += "{" + labels.map { $0.0 + "=\"" + Self.escapeLabel($0.1) + "\"" }.joined(separator: ",") + "}"
        }
        output += " " + Self.format(value) + "\n"
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    static func escapeLabel(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}
