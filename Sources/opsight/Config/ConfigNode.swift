import Collector
import Foundation
import Yams
import PromQL

/// A YAML node with its file position, read with errors that say `file:line: field: reason`.
struct ConfigNode {
    let node: Node
    let file: String
    let path: String

    func error(_ message: String) -> ConfigError {
        ConfigError(
            file: file, line: node.mark?.line, column: node.mark?.column,
            message: path.isEmpty ? message : "\(path): \(message)")
    }

    /// Child `key` of a mapping, nil when absent or null.
    func child(_ key: String) -> ConfigNode? {
        guard let mapping = node.mapping else { return nil }
        for (k, v) in mapping where k.string == key {
            if let scalar = v.scalar, scalar.tag.rawValue.hasSuffix(":null") || scalar.string == "~"
                || (scalar.string.isEmpty && scalar.style == .plain)
            {
                return nil
            }
            return ConfigNode(node: v, file: file, path: path.isEmpty ? key : "\(path).\(key)")
        }
        return nil
    }

    /// Fails on keys outside `known` (a typo must not be silently ignored).
    func checkKeys(_ known: Set<String>) throws(ConfigError) {
        guard let mapping = node.mapping else { throw error("expected a mapping") }
        for (k, _) in mapping {
            guard let name = k.string, known.contains(name) else {
                let n = ConfigNode(node: k, file: file, path: path)
                throw n.error("unknown key '\(k.string ?? "?")' (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
    }

    func string() throws(ConfigError) -> String {
        guard let s = node.scalar?.string else { throw error("expected a string") }
        return s
    }

    func int() throws(ConfigError) -> Int {
        guard let s = node.scalar?.string, let v = Int(s.replacingOccurrences(of: "_", with: "")) else {
            throw error("expected an integer, got '\(node.scalar?.string ?? "a list or mapping")'")
        }
        return v
    }

    func bool() throws(ConfigError) -> Bool {
        guard let s = node.scalar?.string else { throw error("expected true or false") }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, got '\(s)'")
        }
    }

    /// A byte size: a plain number or one with a unit (`16MiB`, `1GiB`, `512KB`).
    func bytes() throws(ConfigError) -> UInt64 {
        let s = try string().replacingOccurrences(of: " ", with: "")
        let units: [(String, UInt64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1),
        ]
        for (suffix, factor) in units where s.hasSuffix(suffix) {
            if let n = Double(s.dropLast(suffix.count)), n >= 0 { return UInt64(n * Double(factor)) }
        }
        if let n = UInt64(s) { return n }
        throw error("expected a size such as 1GiB, 16MiB or 1048576, got '\(s)'")
    }

    /// A Prometheus duration in milliseconds.
    func duration() throws(ConfigError) -> Int64 {
        let s = try string()
        guard let ms = PromDuration.milliseconds(s), ms > 0 else {
            throw error("expected a duration such as 30s, 5m, 1h or 1d, got '\(s)'")
        }
        return ms
    }

    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard let seq = node.sequence else { throw error("expected a list") }
        return seq.enumerated().map { i, n in ConfigNode(node: n, file: file, path: "\(path)[\(i)]") }
    }
}
