import PromQL

/// Evaluates one rule group at a time given by the caller, keeping each alerting rule's state:
/// Prometheus's `rules.Group` without the ticker (the caller schedules, e.g. every `interval`).
public struct RuleGroupEvaluator: Sendable {
    /// Settings shared by the groups of a rule set.
    public struct Configuration: Hashable, Sendable {
        /// The interval of groups that do not set one (Prometheus's `evaluation_interval`).
        public var evaluationInterval: PromDuration
        /// Minimum time between re-sends of a firing alert (Prometheus's `--rules.alert.resend-delay`).
        public var resendDelay: PromDuration
        /// External URL and labels for templates and outgoing alerts.
        public var context: AlertContext

        /// Creates a configuration; defaults as Prometheus: 1m interval, 1m resend delay.
        public init(
            evaluationInterval: PromDuration = .minutes(1), resendDelay: PromDuration = .minutes(1),
            context: AlertContext = AlertContext()
        ) {
            self.evaluationInterval = evaluationInterval
            self.resendDelay = resendDelay
            self.context = context
        }
    }

    /// The group.
    public let group: RuleGroup
    /// The settings.
    public var configuration: Configuration
    /// The state of each alerting rule, by the rule's index in the group.
    public internal(set) var alertingRules: [Int: AlertingRule] = [:]
    /// The last error of each rule, by index (`nil` entries: healthy).
    public private(set) var lastErrors: [Int: String] = [:]
    /// When the group was last evaluated (unix ms).
    public private(set) var lastEvaluation: Int64?
    /// Rule evaluations so far (`opsight_rule_evaluations_total`).
    public private(set) var evaluationsTotal = 0
    /// Failed rule evaluations so far (`opsight_rule_evaluation_failures_total`).
    public private(set) var failuresTotal = 0

    /// An evaluator with no alerts yet.
    public init(group: RuleGroup, configuration: Configuration = Configuration()) {
        self.group = group
        self.configuration = configuration
        for (index, rule) in group.rules.enumerated() {
            if case .alerting(let alertRule) = rule { alertingRules[index] = AlertingRule(rule: alertRule) }
        }
    }

    /// The group's interval in ms (its own, or the configuration's).
    public var interval: Int64 { (group.interval ?? configuration.evaluationInterval).milliseconds }

    /// Evaluates every rule in order at `now` over `source`; samples recorded by earlier rules are
    /// visible to later ones.
    public mutating func evaluate(at now: Int64, source: any SampleSource) async -> GroupEvaluation {
        var recorded: [Sample] = []
        return await evaluate(at: now) { expr, time in
            // Rules evaluate at the engine's current time: windows include everything committed so far.
            try await Evaluator(source: OverlaySampleSource(base: source, extra: recorded)).evaluate(expr, at: .now(time))
        } record: {
            recorded.append(contentsOf: $0)
        }
    }

    /// Evaluates every rule in order at `now` with `query`.
    public mutating func evaluate(at now: Int64, query: QueryFunction) async -> GroupEvaluation {
        await evaluate(at: now, query: { try await query($0, $1) }, record: { _ in })
    }

    private mutating func evaluate(
        at now: Int64, query: (Expr, Int64) async throws -> Value, record: ([Sample]) -> Void
    ) async -> GroupEvaluation {
        var outcome = GroupEvaluation(time: now)
        for (index, rule) in group.rules.enumerated() {
            outcome.evaluated += 1
            evaluationsTotal += 1
            do {
                switch rule {
                case .recording(let recording):
                    let samples = try recording.samples(from: try await query(recording.expression, now))
                    if group.limit > 0 && samples.count > group.limit {
                        throw RuleEvaluationError("exceeded limit of \(group.limit) with \(samples.count) series")
                    }
                    outcome.recorded += samples
                    record(samples)
                case .alerting(let alertRule):
                    let value = try await query(alertRule.expression, now)
                    guard var state = alertingRules[index] else { continue }
                    defer { alertingRules[index] = state }
                    outcome.transitions += try state.apply(
                        value.asVector, at: now, context: configuration.context, limit: group.limit)
                    outcome.alerts += state.alertsToSend(
                        at: now, resendDelay: configuration.resendDelay.milliseconds, interval: interval,
                        context: configuration.context)
                }
                lastErrors[index] = nil
            } catch {
                failuresTotal += 1
                let message = (error as? RuleEvaluationError)?.message ?? "\(error)"
                lastErrors[index] = message
                outcome.failures.append(.init(rule: rule.name, index: index, message: message))
            }
        }
        lastEvaluation = now
        return outcome
    }

    /// How many alerts of the group are in each state (`opsight_alerts{state}`).
    public var alertCounts: [AlertState: Int] {
        var counts: [AlertState: Int] = [:]
        for rule in alertingRules.values {
            for state in AlertState.allCases { counts[state, default: 0] += rule.count(state) }
        }
        return counts
    }
}
