import Alerting
import Collector
import Foundation
import Yams
import PromQL

/// A YAML node with its file position and path (`wal.max_bytes`, `funnels[0].steps`), read through the rule files'
/// reader (`YAMLRead`) so both files report problems in one wording, as `file:line:column: reason`.
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

    /// The shared reader's error at this node (or, for a mapping key, at that key), with the column.
    private func located(_ error: Alerting.ConfigError) -> ConfigError {
        var column = node.mark?.column
        if let mapping = node.mapping, let key = mapping.keys.first(where: { $0.mark?.line == error.line }) {
            column = key.mark?.column
        }
        return ConfigError(file: file, line: error.line, column: column, message: error.message)
    }

    private var what: String { path.isEmpty ? "configuration" : path }

    /// Fails on keys outside `known` (a typo must not be silently ignored).
    func checkKeys(_ known: Set<String>) throws(ConfigError) {
        do { try YAMLRead.checkKeys(node, allowed: known.sorted(), file: file, what: what) } catch { throw located(error) }
    }

    func string() throws(ConfigError) -> String {
        do { return try YAMLRead.string(node, file: file, what: what) } catch { throw located(error) }
    }

    func int() throws(ConfigError) -> Int {
        do { return try YAMLRead.count(node, file: file, what: what) } catch { throw located(error) }
    }

    func bool() throws(ConfigError) -> Bool {
        do { return try YAMLRead.bool(node, file: file, what: what) } catch { throw located(error) }
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

    /// A positive Prometheus duration in milliseconds.
    func duration() throws(ConfigError) -> Int64 {
        let d: PromDuration
        do { d = try YAMLRead.duration(node, file: file, what: what) } catch { throw located(error) }
        guard d.milliseconds > 0 else { throw self.error("must be longer than 0s") }
        return d.milliseconds
    }

    func sequence() throws(ConfigError) -> [ConfigNode] {
        let seq: [Node]
        do { seq = try YAMLRead.sequence(node, file: file, what: what) } catch { throw located(error) }
        return seq.enumerated().map { i, n in ConfigNode(node: n, file: file, path: "\(path)[\(i)]") }
    }
}
