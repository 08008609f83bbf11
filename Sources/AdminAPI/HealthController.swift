import Collector
import HTTPLayer
import Hummingbird

/// `GET /healthz` (the process answers) and `GET /readyz` (stores reachable, WAL writable).
public struct HealthController<Context: RequestContext>: Sendable {
    private let stores: [(name: String, store: any MetricsStore)]
    private let pipeline: IngestPipeline

    /// Creates the controller.
    public init(stores: [(name: String, store: any MetricsStore)], pipeline: IngestPipeline) {
        self.stores = stores
        self.pipeline = pipeline
    }

    /// Adds the routes; load balancers and orchestrators call them without a token.
    public func register(on routes: ScopedRoutes<Context>) {
        let open = routes.unauthenticated()
        open.get("/healthz") { _, _ in try JSONResponse.ok(.object(["status": .string("ok")])) }
        open.get("/readyz") { _, _ in try await self.ready() }
    }

    private func ready() async throws -> Response {
        var checks: [String: JSON] = [:]
        var ok = true
        for (name, store) in stores {
            do {
                try await store.ping()
                checks[name] = .string("ok")
            } catch {
                ok = false
                checks[name] = .string("\(error)")
            }
        }
        let backlog = pipeline.walBacklogBytes
        let walOK = backlog <= pipeline.configuration.walMaxBytes
        checks["wal"] = .string(walOK ? "ok" : "full (\(backlog) bytes not yet in the stores)")
        ok = ok && walOK
        return try JSONResponse.ok(
            .object(["status": .string(ok ? "ready" : "not ready"), "checks": .object(checks)]),
            status: ok ? .ok : .serviceUnavailable)
    }
}
