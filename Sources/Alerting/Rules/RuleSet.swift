import Foundation

/// Every rule group of a set of rule files, validated as a whole.
public struct RuleSet: Hashable, Sendable {
    /// The groups, in file order then group order.
    public var groups: [RuleGroup]

    /// Wraps `groups`.
    public init(groups: [RuleGroup]) {
        self.groups = groups
    }

    /// Parses and validates every file; all-or-nothing: throws every error of every file (group
    /// names must be unique across files too).
    public static func load(_ sources: [RuleFileSource]) throws(ConfigErrors) -> RuleSet {
        let sink = DiagnosticSink()
        var groups: [RuleGroup] = []
        for source in sources {
            for group in RuleFileParser(file: source.path, sink: sink).parse(source.text) {
                if let previous = groups.first(where: { $0.name == group.name }) {
                    sink.report(
                        ConfigError(
                            .duplicate, file: group.file, line: group.line, group: group.name,
                            "group name is already used in \(previous.file):\(previous.line)"))
                }
                groups.append(group)
            }
        }
        guard sink.errors.isEmpty else { throw ConfigErrors(sink.errors) }
        return RuleSet(groups: groups)
    }

    /// Reads and loads the files at `paths`; unreadable files are errors too.
    public static func load(paths: [String]) throws(ConfigErrors) -> RuleSet {
        var sources: [RuleFileSource] = []
        var errors: [ConfigError] = []
        for path in paths {
            switch TextFile.read(path) {
            case .success(let text): sources.append(RuleFileSource(path: path, text: text))
            case .failure(let why):
                errors.append(ConfigError(.io, file: path, line: why.line, "cannot read the rule file: it \(why)"))
            }
        }
        let result = Result { () throws(ConfigErrors) -> RuleSet in try load(sources) }
        switch result {
        case .success(let set) where errors.isEmpty: return set
        case .success: throw ConfigErrors(errors)
        case .failure(let failure): throw ConfigErrors(errors + failure.errors)
        }
    }

    /// The number of rules in all groups.
    public var ruleCount: Int { groups.reduce(0) { $0 + $1.rules.count } }
}
