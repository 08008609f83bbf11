import AdminAPI
import Alerting
import HTTPLayer
import OpsightMetrics
import QueryModel
import AsyncHTTPClient
import Collector
import Foundation
import Hummingbird
import Logging
import PromQL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Alerting in `opsight serve`: the engine over the query engine's series, the lease, the outbox's delivery,
/// the API, and reload on SIGHUP or `POST /api/v1/rules/reload`.
final class AlertingWiring: Sendable {
    let engine: AlertingEngine
    let lease: LeaseKeeper
    let delivery: DeliveryWorker
    let store: any AlertStore
    private let httpClient: HTTPClient
    private let receivers: ReceiverTable
    private let configPath: String?
    let logger: Logger
    let counters = AlertingCounters()

    static func nowMs() -> Int64 { WallClock.system.nowMs() }

    init(
        config: OpsightConfig, configPath: String?, holder: String, store: any AlertStore, source: any SampleSource,
        selfMetrics: SelfMetrics, logger: Logger
    ) throws {
        let settings = config.alerting ?? AlertingSettings()
        let rules: RuleSet
        do { rules = try settings.loadRules() } catch {
            throw CommandFailure("alerting.rule_files:\n\(error)")
        }
        let engine = AlertingEngine(
            configuration: settings.engineConfiguration(rules: rules), store: store, source: source, logger: logger)
        self.engine = engine
        self.store = store
        self.configPath = configPath
        self.logger = logger
        let counters = counters
        Self.register(counters, in: selfMetrics)
        let receivers = ReceiverTable(Self.receiverMap(settings.dispatch))
        self.receivers = receivers
        // A process id beside the collector id: two processes sharing a WAL folder by mistake still differ.
        lease = LeaseKeeper(
            holder: "\(holder)/\(ProcessInfo.processInfo.processIdentifier)", store: store, now: Self.nowMs,
            onChange: { _ in await engine.relinquish() }, logger: logger)
        // A receiver that is down must not hold the delivery worker for long: connect within 2 s.
        httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(timeout: .init(connect: .seconds(2), read: .seconds(10))))
        var delivery = DeliveryWorker.Configuration()
        delivery.retry.maxRetryDuration = settings.maxRetryDurationMs
        let lease = lease
        self.delivery = DeliveryWorker(
            configuration: delivery, store: store, poster: AsyncHTTPPoster(client: httpClient),
            receivers: { receivers.current }, isLeader: { lease.isLeader }, now: Self.nowMs,
            onOutcome: { receiver, outcome in counters.recordNotification(receiver: receiver, outcome: outcome) },
            logger: logger)
        logger.info(
            "alerting loaded", metadata: ["groups": "\(rules.groups.count)", "rules": "\(rules.ruleCount)"])
    }

    /// The long-running parts, for the service group.
    var services: [any Service] {
        let counters = counters
        let delivery = delivery
        let service = AlertingService(
            engine: engine, lease: lease, now: Self.nowMs, logger: logger,
            onStep: { stats in
                counters.ruleEvaluations.store(stats.evaluations, ordering: .relaxed)
                counters.ruleEvaluationFailures.store(stats.failures, ordering: .relaxed)
                counters.alertsPending.store(stats.pending, ordering: .relaxed)
                counters.alertsFiring.store(stats.firing, ordering: .relaxed)
            },
            onOutbox: { delivery.wake() })
        return [lease, service, delivery, ReloadOnHangup(wiring: self)]
    }

    /// Alerting's own families (SPEC §6) in the query model's registry.
    private static func register(_ counters: AlertingCounters, in selfMetrics: SelfMetrics) {
        selfMetrics.register(
            "opsight_rule_evaluations_total", type: "counter", help: "Alerting and recording rule evaluations."
        ) { Double(counters.ruleEvaluations.load(ordering: .relaxed)) }
        selfMetrics.register(
            "opsight_rule_evaluation_failures_total", type: "counter", help: "Rule evaluations that failed."
        ) { Double(counters.ruleEvaluationFailures.load(ordering: .relaxed)) }
        selfMetrics.register("opsight_alerts", type: "gauge", help: "Alerts by state after the last evaluation.") {
            [
                ([("state", "firing")], Double(counters.alertsFiring.load(ordering: .relaxed))),
                ([("state", "pending")], Double(counters.alertsPending.load(ordering: .relaxed))),
            ]
        }
        selfMetrics.register(
            "opsight_notifications_total", type: "counter", help: "Notification delivery attempts by outcome."
        ) {
            counters.notificationCounts.sorted { ($0.key.receiver, $0.key.outcome) < ($1.key.receiver, $1.key.outcome) }
                .map { ([("receiver", $0.key.receiver), ("outcome", $0.key.outcome)], Double($0.value)) }
        }
    }

    /// The HTTP endpoints.
    func controller() -> AlertingController<BasicRequestContext> {
        AlertingController(engine: engine, store: store, reload: { try await self.reload() })
    }

    /// Re-reads the configuration file's alerting block and the rule files; all or nothing.
    func reload() async throws -> String {
        let config = try OpsightConfig.load(path: configPath, environment: ProcessInfo.processInfo.environment)
        let settings = config.alerting ?? AlertingSettings()
        let rules = try settings.loadRules()
        await engine.reload(settings.engineConfiguration(rules: rules), now: Self.nowMs())
        receivers.current = Self.receiverMap(settings.dispatch)
        let summary = "\(rules.groups.count) groups, \(rules.ruleCount) rules"
        logger.notice("alerting reloaded", metadata: ["rules": "\(summary)"])
        return summary
    }

    func shutdown() {
        try? httpClient.syncShutdown()
    }

    private static func receiverMap(_ dispatch: DispatchConfig?) -> [String: Receiver] {
        Dictionary((dispatch?.receivers ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }
}

/// Reloads rules and routing on SIGHUP, as Prometheus does.
struct ReloadOnHangup: Service {
    let wiring: AlertingWiring

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do { _ = try await wiring.reload() } catch {
                    wiring.logger.error(
                        "SIGHUP reload failed; the previous rules stay in force", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// The receivers in force, swapped on reload; read by the delivery worker for kinds and secrets.
final class ReceiverTable: Sendable {
    private let table: Mutex<[String: Receiver]>
    init(_ table: [String: Receiver]) { self.table = Mutex(table) }
    var current: [String: Receiver] {
        get { table.withLock { $0 } }
        set { table.withLock { $0 = newValue } }
    }
}
