import AsyncHTTPClient
import CompressNIO
import Foundation
import NIOCore
import OpsightMetrics

/// Delivers batches to the collector's `POST /v1/ingest` (SPEC §4) with AsyncHTTPClient.
///
/// Bodies are gzip'd (CompressNIO) and carry the bearer token. Answers are classified for the emitter's
/// retry loop: 2xx delivered (with the collector's accepted/rejected counts), 408, 429 and 5xx retryable
/// (honouring a `Retry-After` in seconds), any other 4xx permanent, network errors and timeouts retryable.
public struct HTTPTransport: Transport {
    /// Where and how to send.
    public let configuration: Configuration
    /// The client used; owned by the caller.
    let client: HTTPClient

    /// Creates a transport; `client` defaults to AsyncHTTPClient's shared client.
    public init(configuration: Configuration, client: HTTPClient = .shared) {
        self.configuration = configuration
        self.client = client
    }

    /// Makes one attempt to deliver a batch.
    public func send(body: [UInt8], lineCount: Int) async throws -> TransportOutcome {
        var payload = ByteBuffer(bytes: body)
        var request = HTTPClientRequest(url: configuration.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-ndjson")
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        if let token = configuration.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let level = configuration.gzipLevel {
            payload = try payload.compress(with: .gzip(configuration: .init(compressionLevel: level)))
            request.headers.add(name: "Content-Encoding", value: "gzip")
        }
        request.body = .bytes(payload)
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await client.execute(request, timeout: Self.timeAmount(configuration.timeout))
            answer = try await response.body.collect(upTo: 1 << 20)
        } catch {
            return .retry(after: nil, reason: "POST \(configuration.url) failed: \(error)")
        }
        return Self.classify(
            status: Int(response.status.code),
            retryAfter: response.headers.first(name: "Retry-After"),
            body: answer,
            lineCount: lineCount
        )
    }

    /// The outcome of an answer: its status, `Retry-After` header and body.
    static func classify(status: Int, retryAfter: String?, body: ByteBuffer, lineCount: Int) -> TransportOutcome {
        switch status {
        case 200..<300:
            let counts = try? JSONDecoder().decode(IngestCounts.self, from: Data(body.readableBytesView))
            return .delivered(accepted: counts?.accepted ?? lineCount, rejected: counts?.rejected ?? 0)
        case 408, 429, 500..<600:
            return .retry(after: parseRetryAfter(retryAfter), reason: "HTTP \(status): \(text(body))")
        default:
            return .permanent(reason: "HTTP \(status): \(text(body))")
        }
    }

    /// A `Retry-After` given in seconds (the HTTP-date form is not used by the collector and is ignored).
    static func parseRetryAfter(_ value: String?) -> Duration? {
        guard let value, let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 else {
            return nil
        }
        return .seconds(seconds)
    }

    /// The start of an answer body, for error reasons.
    private static func text(_ body: ByteBuffer) -> String {
        String(buffer: body.getSlice(at: body.readerIndex, length: min(body.readableBytes, 300)) ?? body)
    }

    /// A `Duration` as NIO's `TimeAmount`.
    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The part of the collector's 200 answer the transport reads.
    private struct IngestCounts: Decodable {
        var accepted: Int
        var rejected: Int
    }
}
