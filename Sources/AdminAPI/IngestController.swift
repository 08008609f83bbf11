import Collector
import Foundation
import HTTPLayer
import Hummingbird
import NIOCore
import OpsightMetrics

/// `POST /v1/ingest` (SPEC §4): NDJSON or a JSON array, optionally gzip'd, answered after the WAL fsync.
public struct IngestController<Context: RequestContext>: Sendable {
    private let pipeline: IngestPipeline
    private let clock: WallClock

    /// Creates the controller; `clock` stamps events without a `ts` and bounds their age.
    public init(pipeline: IngestPipeline, clock: WallClock = .system) {
        self.pipeline = pipeline
        self.clock = clock
    }

    /// Adds the route, with the `ingest` scope.
    public func register(on routes: ScopedRoutes<Context>) {
        routes.group("/v1", scope: .ingest).post("ingest") { request, _ in try await self.ingest(request) }
    }

    private func ingest(_ request: Request) async throws -> Response {
        let max = pipeline.configuration.maxBodyBytes
        var body = try await collect(request.body, limit: max)
        if let encoding = request.headers[.contentEncoding]?.lowercased(), encoding != "identity" {
            guard encoding == "gzip" || encoding == "x-gzip" else {
                throw APIError(
                    .unsupportedMediaType, code: "unsupported_encoding",
                    message: "Content-Encoding '\(encoding)' is not supported: send gzip or no encoding")
            }
            do {
                body = try Gunzip.decompress(body, maxBytes: max)
            } catch .tooLarge {
                throw tooLarge(max, decompressed: true)
            } catch .invalid(let reason) {
                throw APIError.badRequest("body is not valid gzip: \(reason); nothing was accepted")
            }
            if body.readableBytes > max { throw tooLarge(max, decompressed: true) }
        }
        let nowMs = clock.nowMs()
        let result: IngestResult
        do {
            let prepared = try body.withUnsafeReadableBytes { raw in try pipeline.prepare(raw, nowMs: nowMs) }
            result = try await pipeline.commit(prepared)
        } catch let error as CollectorError {
            switch error.code {
            case .walFull, .walIO:
                throw APIError(.serviceUnavailable, code: "unavailable", message: error.message, headers: [.retryAfter: "5"])
            case .overloaded, .shutdown:
                throw APIError(.tooManyRequests, code: "overloaded", message: error.message, headers: [.retryAfter: "1"])
            default:
                throw error
            }
        }
        let data = try JSONEncoder().encode(result)
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func collect(_ body: RequestBody, limit: Int) async throws -> ByteBuffer {
        var out = ByteBuffer()
        for try await chunk in body {
            if out.readableBytes + chunk.readableBytes > limit { throw tooLarge(limit, decompressed: false) }
            var chunk = chunk
            out.writeBuffer(&chunk)
        }
        return out
    }

    private func tooLarge(_ limit: Int, decompressed: Bool) -> APIError {
        APIError(
            .contentTooLarge, code: "body_too_large",
            message: "body exceeds ingest.max_body_bytes (\(limit) bytes\(decompressed ? " after decompression" : "")): "
                + "send smaller batches", details: ["max_body_bytes": "\(limit)"])
    }
}
