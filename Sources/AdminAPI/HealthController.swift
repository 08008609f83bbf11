import Collector
import HTTPLayer
import Hummingbird

/// `GET /healthz` (the process answers), `GET /readyz` (stores reachable and taking commits, WAL writable) and
/// `GET /readyz/ingest` (ingest is taken: the WAL has room, whatever the stores are doing).
public struct HealthController<Context: RequestContext>: Sendable {
    private let hot: any MetricsStore
    private let durable: any MetricsStore
    private let pipeline: IngestPipeline

    /// Creates the controller.
    public init(hot: any MetricsStore, durable: any MetricsStore, pipeline: IngestPipeline) {
        self.hot = hot
        self.durable = durable
        self.pipeline = pipeline
    }

    /// Adds the routes; load balancers and orchestrators call them without a token.
    public func register(on routes: ScopedRoutes<Context>) {
        let open = routes.unauthenticated()
        open.get("/healthz") { _, _ in try JSONResponse.ok(.object(["status": .string("ok")])) }
        open.get("/readyz") { _, _ in try await self.ready(forIngest: false) }
        open.get("/readyz/ingest") { _, _ in try await self.ready(forIngest: true) }
    }

    /// The same checks either way; `forIngest` decides the status code by ``Readiness/ingestReady``.
    private func ready(forIngest: Bool) async throws -> Response {
        async let hotPing: Void = hot.ping()
        async let durablePing: Void = durable.ping()
        let hotReachable = (try? await hotPing) != nil
        let durableReachable = (try? await durablePing) != nil
        let r = pipeline.readiness(hotReachable: hotReachable, durableReachable: durableReachable)
        let ready = forIngest ? r.ingestReady : r.ready
        return try JSONResponse.ok(
            .object([
                "status": .string(ready ? "ready" : "not ready"),
                "checks": .object(r.checks.mapValues { .string($0) }),
                "quarantined": .object([
                    "deltas": .number(Double(r.quarantinedDeltas)),
                    "raw_events": .number(Double(r.quarantinedRawEvents)),
                ]),
            ]),
            status: ready ? .ok : .serviceUnavailable)
    }
}
