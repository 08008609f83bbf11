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
            let chunks = try await families.expositionChunks()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: Self.body(chunks))
        }
    }

    /// The exposition's pieces sent as they are: at 10 000 series it is ~40 MB, most of it buffers kept by the
    /// families' cache, so a scrape copies none of it. Small pieces (headers, the self-metrics) go together.
    static func body(_ chunks: [ByteBuffer]) -> ResponseBody {
        ResponseBody(contentLength: chunks.reduce(0) { $0 + $1.readableBytes }) { writer in
            var small = ByteBuffer()
            for chunk in chunks {
                guard chunk.readableBytes >= 1 << 16 else {
                    small.writeImmutableBuffer(chunk)
                    continue
                }
                if small.readableBytes > 0 {
                    try await writer.write(small)
                    small = ByteBuffer()
                }
                try await writer.write(chunk)
            }
            if small.readableBytes > 0 { try await writer.write(small) }
            try await writer.finish(nil)
        }
    }
}
