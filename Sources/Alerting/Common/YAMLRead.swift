import PromQL
import Yams

/// The rule files' YAML reader (`YAMLScope`) one value at a time, throwing its first error: the configuration file
/// reads through it too, so both speak with one wording (`X must be a list, not a mapping`, `unknown field "k" in
/// X (expected one of: …)`, `invalid X "soon": not a valid duration …`).
public enum YAMLRead {
    private static func read<T>(_ file: String, _ body: (YAMLScope) -> T?) throws(ConfigError) -> T {
        let sink = DiagnosticSink()
        if let value = body(YAMLScope(file: file, sink: sink)), sink.errors.isEmpty { return value }
        throw sink.errors.first ?? ConfigError(.yaml, file: file, line: 0, "unreadable value")
    }

    /// A scalar's text.
    public static func string(_ node: Node, file: String, what: String) throws(ConfigError) -> String {
        try read(file) { $0.string(node, what: what) }
    }

    /// `true` or `false`.
    public static func bool(_ node: Node, file: String, what: String) throws(ConfigError) -> Bool {
        try read(file) { $0.bool(node, what: what) }
    }

    /// A whole number of 0 or more.
    public static func count(_ node: Node, file: String, what: String) throws(ConfigError) -> Int {
        try read(file) { $0.count(node, what: what) }
    }

    /// A Prometheus duration.
    public static func duration(_ node: Node, file: String, what: String) throws(ConfigError) -> PromDuration {
        try read(file) { $0.duration(node, what: what) }
    }

    /// A list's elements.
    public static func sequence(_ node: Node, file: String, what: String) throws(ConfigError) -> [Node] {
        try read(file) { $0.sequence(node, what: what) }
    }

    /// Checks that `node` is a mapping whose keys are all in `allowed`.
    public static func checkKeys(_ node: Node, allowed: [String], file: String, what: String) throws(ConfigError) {
        _ = try read(file) { $0.mapping(node, allowed: allowed, what: what) }
    }
}
