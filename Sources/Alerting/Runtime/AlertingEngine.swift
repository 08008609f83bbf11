import Foundation
import Logging
import PromQL

/// Evaluates the rule groups, dispatches their alerts and writes the resulting state and notifications to the
/// store, one step at a time; the caller gives the time and decides when this process may step (the lease).
///
/// Each step commits the alert state, the dispatcher state, the history and the outbox in one transaction, so
/// a notification exists exactly when the state change that caused it was saved. A step whose commit fails
/// keeps its messages and history and offers them again with the next commit (the outbox ignores ids it has).
public actor AlertingEngine {
    /// What the engine evaluates and where it routes.
    public struct Configuration: Sendable {
        public var rules: RuleSet
        /// Routing; nil: alerts are evaluated, kept and shown, but not sent anywhere.
        public var dispatch: DispatchConfig?
        public var evaluation: RuleGroupEvaluator.Configuration
        /// Creates the configuration.
        public init(rules: RuleSet, dispatch: DispatchConfig?, evaluation: RuleGroupEvaluator.Configuration) {
            self.rules = rules
            self.dispatch = dispatch
            self.evaluation = evaluation
        }
    }

    private var configuration: Configuration
    private let store: any AlertStore
    private let source: any SampleSource
    private let logger: Logger
    private var evaluators: [RuleGroupEvaluator]
    private var nextEvaluation: [String: Int64] = [:]
    private var dispatcher: Dispatcher?
    private var unsaved: (outbox: [OutboxMessage], history: [AlertHistoryEntry]) = ([], [])
    private var restored = false
    /// The dispatcher state last committed: a step that evaluated nothing and changed nothing writes nothing.
    private var savedDispatch: DispatcherState?
    /// Rule evaluations and failures since start (`opsight_rule_evaluations_total`, `…_failures_total`).
    public private(set) var evaluations: UInt64 = 0
    public private(set) var failures: UInt64 = 0

    /// Creates the engine; state is restored from `store` at the first step.
    public init(configuration: Configuration, store: any AlertStore, source: any SampleSource, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.source = source
        self.logger = logger
        self.evaluators = configuration.rules.groups.map { RuleGroupEvaluator(group: $0, configuration: configuration.evaluation) }
        self.dispatcher = configuration.dispatch.map { Dispatcher(config: $0) }
    }

    /// Counters for `/metrics`.
    public struct Stats: Sendable {
        public var evaluations: UInt64
        public var failures: UInt64
        public var pending: Int
        public var firing: Int
    }

    /// The counters now.
    public var stats: Stats {
        var pending = 0
        var firing = 0
        for e in evaluators {
            let counts = e.alertCounts
            pending += counts[.pending] ?? 0
            firing += counts[.firing] ?? 0
        }
        return Stats(evaluations: evaluations, failures: failures, pending: pending, firing: firing)
    }

    /// The evaluators as they stand (rules, their alerts and health) for the API.
    public var groups: [RuleGroupEvaluator] { evaluators }

    /// The alerts the dispatcher holds.
    public var dispatcherState: DispatcherState { dispatcher?.state ?? DispatcherState() }

    /// Replaces rules and routing, keeping the alerts of rules that still exist (all-or-nothing: the caller
    /// validated the new set).
    public func reload(_ new: Configuration, now: Int64) {
        let snapshot = AlertStateSnapshot(takenAt: now, evaluators: evaluators)
        configuration = new
        evaluators = new.rules.groups.map { group in
            var evaluator = RuleGroupEvaluator(group: group, configuration: new.evaluation)
            evaluator.restore(from: snapshot)
            return evaluator
        }
        let state = dispatcherState
        dispatcher = new.dispatch.map { Dispatcher(config: $0, state: state) }
        nextEvaluation = nextEvaluation.filter { key, _ in new.rules.groups.contains { $0.key == key } }
    }

    /// When the next step has work, ms: the earliest group evaluation or dispatcher flush; nil when none is
    /// scheduled. A group not evaluated yet is due at once.
    public var nextDue: Int64? {
        let evaluations = evaluators.map { nextEvaluation[$0.group.key] ?? 0 }
        return (evaluations + [dispatcher?.nextFlushAt].compactMap { $0 }).min()
    }

    /// Forgets in-memory state, so that the next step restores from the store: called when another process
    /// may have held the lease (and stepped) meanwhile.
    public func relinquish() {
        restored = false
    }

    /// Evaluates the groups that are due at `now`, flushes the dispatcher, commits; returns the notifications
    /// written to the outbox.
    @discardableResult
    public func step(now: Int64) async throws -> [OutboxMessage] {
        if !restored { try await restore() }
        var forwarded: [Alert] = []
        var evaluatedAny = false
        for i in evaluators.indices {
            let key = evaluators[i].group.key
            guard (nextEvaluation[key] ?? 0) <= now else { continue }
            var evaluator = evaluators[i]
            let outcome = await evaluator.evaluate(at: now, source: source)
            // A reload while this evaluation awaited replaced the evaluators: its outcome belongs to the old set.
            guard i < evaluators.count, evaluators[i].group == evaluator.group else { continue }
            evaluators[i] = evaluator
            evaluatedAny = true
            // Prometheus aligns a group's evaluations to its interval; the next one is an interval later.
            nextEvaluation[key] = now + evaluator.interval
            evaluations += UInt64(outcome.evaluated)
            failures += UInt64(outcome.failures.count)
            for failure in outcome.failures {
                logger.warning(
                    "rule evaluation failed",
                    metadata: ["group": "\(evaluators[i].group.name)", "rule": "\(failure.rule)", "error": "\(failure.message)"])
            }
            unsaved.history += outcome.transitions.map(Self.historyEntry)
            dispatcher?.receive(outcome.alerts, now: now)
            forwarded += outcome.alerts
        }
        var outbox: [OutboxMessage] = []
        if var d = dispatcher, let routing = configuration.dispatch {
            let silences = try await loadSilences(now: now)
            for notification in d.tick(now: now, silences: silences) {
                guard let receiver = routing.receiver(named: notification.receiver) else { continue }
                outbox.append(
                    NotificationRenderer.render(
                        notification, receiver: receiver, externalURL: configuration.evaluation.context.externalURL))
            }
            dispatcher = d
        }
        if !forwarded.isEmpty {
            for receiver in configuration.dispatch?.receivers ?? [] {
                guard case .alertmanager(let am) = receiver.kind else { continue }
                let id = NotificationID.forward(receiver: receiver.name, alerts: forwarded, evaluatedAt: now)
                outbox.append(NotificationRenderer.forward(forwarded, to: am, name: receiver.name, id: id))
            }
        }
        unsaved.outbox += outbox
        if evaluatedAny || !unsaved.outbox.isEmpty || !unsaved.history.isEmpty || savedDispatch != dispatcherState {
            try await commit(now: now)
        }
        return outbox
    }

    private func commit(now: Int64) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let state: [String: [UInt8]] = [
            "rules": Array(try encoder.encode(AlertStateSnapshot(takenAt: now, evaluators: evaluators))),
            "dispatch": Array(try encoder.encode(dispatcherState)),
        ]
        try await store.commit(state: state, history: unsaved.history, outbox: unsaved.outbox, nowMs: now)
        unsaved = ([], [])
        savedDispatch = dispatcherState
    }

    private func restore() async throws {
        let saved = try await store.loadState()
        let decoder = JSONDecoder()
        evaluators = configuration.rules.groups.map { RuleGroupEvaluator(group: $0, configuration: configuration.evaluation) }
        if let bytes = saved["rules"] {
            do {
                let snapshot = try decoder.decode(AlertStateSnapshot.self, from: Data(bytes))
                for i in evaluators.indices { evaluators[i].restore(from: snapshot) }
            } catch {
                logger.error("saved alert state cannot be read; starting without it", metadata: ["error": "\(error)"])
            }
        }
        var state = DispatcherState()
        if let bytes = saved["dispatch"] {
            do { state = try decoder.decode(DispatcherState.self, from: Data(bytes)) } catch {
                logger.error("saved dispatcher state cannot be read; starting without it", metadata: ["error": "\(error)"])
            }
        }
        dispatcher = configuration.dispatch.map { Dispatcher(config: $0, state: state) }
        savedDispatch = state
        nextEvaluation = [:]
        restored = true
    }

    private func loadSilences(now: Int64) async throws -> Silences {
        try await Self.loadSilences(store: store, now: now)
    }

    /// The silences the store holds that ended less than five days before `now` (Alertmanager's retention).
    public static func loadSilences(store: any AlertStore, now: Int64) async throws -> Silences {
        let decoder = JSONDecoder()
        let list = try await store.silences(endedAfterMs: now - 120 * 3_600_000).compactMap {
            try? decoder.decode(Silence.self, from: Data($0))
        }
        return Silences(list)
    }

    static func historyEntry(_ t: AlertTransition) -> AlertHistoryEntry {
        AlertHistoryEntry(
            atMs: t.at, alertname: t.labels["alertname"] ?? "", labels: t.labels.dictionary,
            state: t.to.map { $0 == .inactive ? "resolved" : $0.rawValue } ?? "inactive", value: t.value)
    }
}
