/// A problem in a rule file or in the alerting configuration, with the file and line it is on.
///
/// `description` reads like promtool's: `alerts/a.yml:7: group "g", rule "r": invalid duration "5x"`.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem this is; extensible, so switch over it with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        /// The file is not well-formed YAML, or a value has the wrong YAML shape.
        public static let yaml = Code(name: "yaml")
        /// A key that the format does not define.
        public static let unknownField = Code(name: "unknown_field")
        /// A required key is missing or empty.
        public static let missingField = Code(name: "missing_field")
        /// A value is not valid (duration, label name, matcher …).
        public static let invalidValue = Code(name: "invalid_value")
        /// A name that must be unique is not.
        public static let duplicate = Code(name: "duplicate")
        /// A PromQL expression does not parse.
        public static let expression = Code(name: "expression")
        /// A template does not parse.
        public static let template = Code(name: "template")
        /// A name refers to something that does not exist (e.g. an undefined receiver).
        public static let reference = Code(name: "reference")
        /// The file could not be read.
        public static let io = Code(name: "io")

        /// The code's name, e.g. `unknown_field`.
        public var description: String { name }
    }

    /// The kind of problem.
    public var code: Code
    /// The file as the caller named it.
    public var file: String
    /// 1-based line of the offending node; 0 when unknown.
    public var line: Int
    /// The rule group it is in, if any.
    public var group: String?
    /// The rule it is in (its `alert`/`record` name, or `#index` when it has none), if any.
    public var rule: String?
    /// What is wrong and, where it helps, what to write instead.
    public var message: String

    /// Creates an error.
    public init(
        _ code: Code, file: String, line: Int, group: String? = nil, rule: String? = nil, _ message: String
    ) {
        self.code = code
        self.file = file
        self.line = line
        self.group = group
        self.rule = rule
        self.message = message
    }

    /// `FILE:LINE: group "g", rule "r": message`, leaving out what is unknown.
    public var description: String {
        var context: [String] = []
        if let group { context.append("group \(group.goQuoted)") }
        if let rule { context.append("rule \(rule.goQuoted)") }
        let prefix = context.isEmpty ? "" : context.joined(separator: ", ") + ": "
        return "\(file):\(line): \(prefix)\(message)"
    }
}
