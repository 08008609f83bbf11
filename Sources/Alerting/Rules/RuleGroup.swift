import PromQL

/// A named group of rules from one file, evaluated together in order at one interval.
public struct RuleGroup: Hashable, Sendable {
    /// The group name, unique within a rule set.
    public var name: String
    /// The file it was loaded from.
    public var file: String
    /// The evaluation interval, if the group sets one (otherwise the global one applies).
    public var interval: PromDuration?
    /// At most this many alerts (or recorded series) per rule; 0 means no limit.
    public var limit: Int
    /// The rules, in file order.
    public var rules: [Rule]
    /// The line of the group in its file.
    public var line: Int

    /// Creates a group.
    public init(
        name: String, file: String = "", interval: PromDuration? = nil, limit: Int = 0, rules: [Rule], line: Int = 0
    ) {
        self.name = name
        self.file = file
        self.interval = interval
        self.limit = limit
        self.rules = rules
        self.line = line
    }

    /// The group's identity in snapshots and logs: `file;name`, as Prometheus's `GroupKey`.
    public var key: String { file + ";" + name }
}
