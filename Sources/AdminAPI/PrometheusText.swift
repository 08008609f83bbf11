import Foundation

/// Writes the Prometheus text exposition format 0.0.4: HELP and TYPE once per family, escaped label values.
struct PrometheusText {
    private(set) var output = ""

    /// Starts a family.
    mutating func family(_ name: String, type: String, help: String) {
        output += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    /// One sample of the current family; non-finite values are skipped (an empty window has no value).
    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: Double) {
        guard value.isFinite else { return }
        output += name
        if labels.count > 0 {
            output += "{"
            var first = true
            for (k, v) in labels {
                if !first { output += "," }
                first = false
                output += k + "=\"" + Self.escapeLabel(v) + "\""
            }
            output += "}"
        }
        output += " " + Self.format(value) + "\n"
    }

    /// Same as `sample` with labels built at run time.
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
