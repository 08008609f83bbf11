/// The alert states of all rule groups, saved so that a restart keeps pending alerts' start times
/// and does not re-notify firing ones. Codable; store it as JSON.
public struct AlertStateSnapshot: Hashable, Sendable, Codable {
    /// The alerts of one alerting rule.
    public struct Entry: Hashable, Sendable, Codable {
        /// The group's key (`file;name`).
        public var group: String
        /// The rule's alert name.
        public var rule: String
        /// The rule's index in its group.
        public var index: Int
        /// Its alerts.
        public var alerts: [ActiveAlert]

        /// Creates an entry.
        public init(group: String, rule: String, index: Int, alerts: [ActiveAlert]) {
            self.group = group
            self.rule = rule
            self.index = index
            self.alerts = alerts
        }
    }

    /// The format version (1).
    public var version: Int
    /// When it was taken (unix ms).
    public var takenAt: Int64
    /// One entry per alerting rule.
    public var entries: [Entry]

    /// Creates a snapshot.
    public init(takenAt: Int64, entries: [Entry]) {
        self.version = 1
        self.takenAt = takenAt
        self.entries = entries
    }

    /// The snapshot of `evaluators` at `takenAt`.
    public init(takenAt: Int64, evaluators: [RuleGroupEvaluator]) {
        self.init(takenAt: takenAt, entries: evaluators.flatMap(\.snapshotEntries))
    }
}
