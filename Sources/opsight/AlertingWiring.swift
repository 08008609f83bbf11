import AdminAPI
import Alerting
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
    private let status: CollectorStatus

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    init(
        config: OpsightConfig, configPath: String?, holder: String, store: any AlertStore, source: any SampleSource,
        status: CollectorStatus, logger: Logger
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
        self.status = status
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
            onOutcome: { receiver, outcome in status.recordNotification(receiver: receiver, outcome: outcome) },
            logger: logger)
        logger.info(
            "alerting loaded", metadata: ["groups": "\(rules.groups.count)", "rules": "\(rules.ruleCount)"])
    }

    /// The long-running parts, for the service group.
    var services: [any Service] {
        let status = status
        let service = AlertingService(engine: engine, lease: lease, now: Self.nowMs, logger: logger) { stats in
            status.ruleEvaluations.store(stats.evaluations, ordering: .relaxed)
            status.ruleEvaluationFailures.store(stats.failures, ordering: .relaxed)
            status.alertsPending.store(stats.pending, ordering: .relaxed)
            status.alertsFiring.store(stats.firing, ordering: .relaxed)
        }
        return [lease, service, delivery, ReloadOnHangup(wiring: self)]
    }

    /// The HTTP endpoints.
    func controller(tokens: AccessTokens) -> AlertingController<BasicRequestContext> {
        AlertingController(engine: engine, store: store, tokens: tokens, reload: { try await self.reload() })
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
