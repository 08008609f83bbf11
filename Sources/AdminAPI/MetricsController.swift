import HTTPLayer
import Hummingbird
import QueryModel

/// `GET /metrics`: every family of SPEC §6 in the Prometheus text format, for Prometheus to scrape, from the query
/// model's families at the current time.
public struct MetricsController<Context: RequestContext>: Sendable {
    private let families: MetricFamilies
    private let isPublic: Bool

    /// Creates the controller; a public exposition needs no token (`auth.public_metrics`).
    public init(families: MetricFamilies, isPublic: Bool) {
        self.families = families
        self.isPublic = isPublic
    }

    /// Adds the route: `read` scope unless public.
    public func register(on routes: ScopedRoutes<Context>) {
        let group = isPublic ? routes.unauthenticated() : routes.group(scope: .read)
        group.get("/metrics") { _, _ in
            let bytes = try await families.expositionBytes()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
