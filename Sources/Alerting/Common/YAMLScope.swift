import PromQL
import Yams

/// Where parsing is (file, group, rule) and where its errors go; helpers read typed values from
/// YAML nodes and report wrong shapes with the node's line.
struct YAMLScope {
    /// The file being parsed.
    let file: String
    /// The rule group, if inside one.
    var group: String?
    /// The rule, if inside one.
    var rule: String?
    /// Where errors go.
    let sink: DiagnosticSink

    /// Records an error at `line`.
    func report(_ code: ConfigError.Code, line: Int, _ message: String) {
        sink.report(ConfigError(code, file: file, line: line, group: group, rule: rule, message))
    }

    /// Records an error at `node`'s line.
    func report(_ code: ConfigError.Code, at node: Node, _ message: String) {
        report(code, line: node.line, message)
    }

    /// The entries of a mapping node whose keys are all in `allowed` (others are reported);
    /// `nil` (reported) when `node` is not a mapping.
    func mapping(_ node: Node, allowed: [String], what: String) -> YAMLMapping? {
        guard case .mapping(let mapping) = node else {
            report(.yaml, at: node, "\(what) must be a mapping, not \(node.kindName)")
            return nil
        }
        var result = YAMLMapping()
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                report(.yaml, at: keyNode, "\(what) keys must be strings")
                continue
            }
            if let previous = result.entries.first(where: { $0.key == key }) {
                report(.duplicate, at: keyNode, "field \(key.goQuoted) already set on line \(previous.line)")
                continue
            }
            guard allowed.contains(key) else {
                report(
                    .unknownField, at: keyNode,
                    "unknown field \(key.goQuoted) in \(what) (expected one of: \(allowed.joined(separator: ", ")))")
                continue
            }
            result.entries.append((key, keyNode.line, value))
        }
        return result
    }

    /// The elements of a sequence node; `nil` (reported) otherwise.
    func sequence(_ node: Node, what: String) -> [Node]? {
        if node.isNull { return [] }
        guard case .sequence(let sequence) = node else {
            report(.yaml, at: node, "\(what) must be a list, not \(node.kindName)")
            return nil
        }
        return Array(sequence)
    }

    /// A scalar's text; `nil` (reported) for a mapping or sequence.
    func string(_ node: Node, what: String) -> String? {
        guard case .scalar(let scalar) = node else {
            report(.yaml, at: node, "\(what) must be a string, not \(node.kindName)")
            return nil
        }
        return node.isNull ? "" : scalar.string
    }

    /// A list of strings.
    func strings(_ node: Node, what: String) -> [String]? {
        guard let items = sequence(node, what: what) else { return nil }
        let values = items.compactMap { string($0, what: "\(what) item") }
        return values.count == items.count ? values : nil
    }

    /// A mapping of strings to strings, keys in file order, with the line of each key.
    func stringMap(_ node: Node, what: String) -> [(key: String, value: String, line: Int)]? {
        if node.isNull { return [] }
        guard case .mapping(let mapping) = node else {
            report(.yaml, at: node, "\(what) must be a mapping, not \(node.kindName)")
            return nil
        }
        var result: [(key: String, value: String, line: Int)] = []
        var ok = true
        for (keyNode, valueNode) in mapping {
            guard let key = string(keyNode, what: "\(what) key"), let value = string(valueNode, what: "\(what) value")
            else {
                ok = false
                continue
            }
            if let previous = result.first(where: { $0.key == key }) {
                report(.duplicate, at: keyNode, "\(what) key \(key.goQuoted) already set on line \(previous.line)")
                ok = false
                continue
            }
            result.append((key, value, keyNode.line))
        }
        return ok ? result : nil
    }

    /// A Prometheus duration; `nil` (reported) if invalid.
    func duration(_ node: Node, what: String) -> PromDuration? {
        guard let text = string(node, what: what) else { return nil }
        guard let duration = PromDuration(text) else {
            report(
                .invalidValue, at: node, "invalid \(what) \(text.goQuoted): not a valid duration (e.g. 30s, 5m, 1h30m)")
            return nil
        }
        return duration
    }

    /// A boolean; `nil` (reported) otherwise.
    func bool(_ node: Node, what: String) -> Bool? {
        guard case .scalar = node, let value = node.bool else {
            report(.invalidValue, at: node, "\(what) must be true or false")
            return nil
        }
        return value
    }

    /// A non-negative integer; `nil` (reported) otherwise.
    func count(_ node: Node, what: String) -> Int? {
        guard case .scalar = node, let value = node.int, value >= 0 else {
            report(.invalidValue, at: node, "\(what) must be a non-negative integer")
            return nil
        }
        return value
    }
}
