import Alerting
import Collector
import Foundation
import HTTPLayer
import Hummingbird
import HummingbirdTesting
import Logging
import OpsightTestSupport
import PromQL
import QueryModel

@testable import AdminAPI

/// Every controller wired as `opsight serve` wires them, over in-memory stores.
struct TestAPI {
    static let tokens = AccessTokens([
        .init(name: "ops", secret: "admin-secret", scopes: ["ingest", "read", "admin"]),
        .init(name: "reader", secret: "read-secret", scopes: ["read"]),
        .init(name: "shipper", secret: "ingest-secret", scopes: ["ingest"]),
    ])
    static let admin: HTTPFields = [.authorization: "Bearer admin-secret"]
    static let read: HTTPFields = [.authorization: "Bearer read-secret"]
    static let ingest: HTTPFields = [.authorization: "Bearer ingest-secret"]
    static let funnel = FunnelDefinition(
        name: "journey", windowMs: 3_600_000,
        steps: [.init(name: "a", matcher: .event("a")), .init(name: "b", matcher: .event("b"))])

    let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
    let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)

    /// Runs `test` against the router with every controller; `limits` bound queries.
    func run(
        limits: QueryLimits = .init(), _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logger = Logger(label: "test")
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: .init(), hot: hot, durable: durable, logger: logger)
        defer { runtime.commitLog.shutdown() }
        let reader = MetricsReader(hot: hot, durable: durable)
        let funnels = FunnelReader(funnels: [Self.funnel], hot: hot, durable: durable)
        let selfMetrics = SelfMetrics()
        selfMetrics.registerCollector(status: runtime.status, walBytes: { 0 }, version: "test")
        let families = MetricFamilies(
            configuration: .init(), reader: reader, totals: hot, funnels: funnels, selfMetrics: selfMetrics)
        let alertStore = InMemoryAlertStore()
        let engine = AlertingEngine(
            configuration: .init(rules: RuleSet(groups: []), dispatch: nil, evaluation: .init()), store: alertStore,
            source: families, logger: logger)
        let router = Router()
        router.add(middleware: RequestIDMiddleware())
        let routes = ScopedRoutes(router: router, tokens: Self.tokens, logger: logger)
        IngestController(pipeline: runtime.pipeline).register(on: routes)
        OpsController(reader: reader, limits: limits).register(on: routes)
        MetricsController(families: families, isPublic: false).register(on: routes)
        FunnelsController(reader: funnels).register(on: routes)
        PromAPIController(source: families, limits: limits).register(on: routes)
        AlertingController(engine: engine, store: alertStore, reload: { "reloaded" }).register(on: routes)
        EventsController(store: InMemoryRawEventStore(), buffer: RawEventBuffer()).register(on: routes)
        StatusController(
            configuration: .init(version: "test", collectorID: "c", windowsMs: [300_000], startedAtMs: 0),
            status: runtime.status, pipeline: runtime.pipeline
        ).register(on: routes)
        HealthController(hot: hot, durable: durable, pipeline: runtime.pipeline)
            .register(on: routes)
        try await Application(router: router).test(.router) { client in try await test(client) }
    }
}

/// A response body as JSON.
func json(_ body: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
}
