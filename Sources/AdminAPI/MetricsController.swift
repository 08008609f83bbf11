import Foundation
import HTTPLayer
import Hummingbird
import PromQL
import QueryModel

/// `GET /metrics`: every family of SPEC §6 in the Prometheus text format, for Prometheus to scrape, from the query
/// model's families at the current time.
///
/// `?window=5m&window=1d` (Prometheus's `params: {window: [5m, 1d]}` in a scrape config) narrows the windowed and
/// funnel families to those of the configured windows: at 10 000 series every window adds ~7 MB, so an operator can
/// scrape the short windows often and the long ones seldom, as separate jobs.
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
        let configured = families.configuration.windowsMs
        group.get("/metrics") { request, _ in
            let windows = try Self.windows(RequestParameters(query: request.uri.query ?? ""), configured: configured)
            let chunks = try await families.expositionChunks(windowsMs: windows)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: Self.body(chunks))
        }
    }

    /// The windows `window` asks for (repeated, or comma-separated), each one of the `configured` ones (compared as
    /// durations, so `60s` is `1m`); nil for all of them. Any other parameter is refused: a scrape config's typo
    /// (`windows`) would otherwise scrape everything without a word.
    static func windows(_ parameters: RequestParameters, configured: [Int64]) throws(APIError) -> [Int64]? {
        let names = configured.map(PromDuration.format).joined(separator: ", ")
        if let other = parameters.names.first(where: { $0 != "window" }) {
            throw APIError.badRequest(
                "/metrics takes no parameter '\(RequestParameters.shown(other))'; its one parameter is window "
                    + "(one of \(names); repeat it for several)",
                parameter: other)
        }
        let texts = parameters.all("window").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard !texts.isEmpty else { return nil }
        var out: [Int64] = []
        for text in texts {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard let ms = PromDuration.milliseconds(trimmed), configured.contains(ms) else {
                throw APIError.badRequest(
                    "window '\(RequestParameters.shown(String(text)))' is not one of the configured windows "
                        + "(\(names)); /metrics exposes those (`windows` in the configuration)",
                    parameter: "window")
            }
            if !out.contains(ms) { out.append(ms) }
        }
        return out
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
