import PromQL

/// The outcome of evaluating a rule group once.
public struct GroupEvaluation: Hashable, Sendable {
    /// A rule that failed, and why.
    public struct Failure: Hashable, Sendable {
        /// The rule's name.
        public var rule: String
        /// Its index in the group.
        public var index: Int
        /// What went wrong.
        public var message: String
    }

    /// The evaluation time (unix ms).
    public var time: Int64
    /// Alerts to hand to the dispatcher (Prometheus's `sendAlerts`).
    public var alerts: [Alert] = []
    /// Samples produced by recording rules.
    public var recorded: [Sample] = []
    /// State changes of alerts.
    public var transitions: [AlertTransition] = []
    /// Rules that failed.
    public var failures: [Failure] = []
    /// How many rules were evaluated (`opsight_rule_evaluations_total`).
    public var evaluated: Int = 0

    /// Creates an empty outcome at `time`.
    public init(time: Int64) {
        self.time = time
    }
}
