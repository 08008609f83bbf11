import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Posts a rendered notification; the seam tests replace with a recording fake.
public protocol HTTPPoster: Sendable {
    /// POSTs `body` to `url` and classifies what came back; never throws (a failure is an outcome).
    func post(url: String, headers: [(name: String, value: String)], body: [UInt8], timeout: Duration) async
        -> DeliveryOutcome
}

/// `HTTPPoster` over async-http-client.
public struct AsyncHTTPPoster: HTTPPoster {
    private let client: HTTPClient

    /// Creates the poster over `client` (shut down by its owner).
    public init(client: HTTPClient) {
        self.client = client
    }

    public func post(url: String, headers: [(name: String, value: String)], body: [UInt8], timeout: Duration) async
        -> DeliveryOutcome
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            // The body is read (up to 64 KiB) so the connection can be reused, and dropped.
            _ = try? await response.body.collect(upTo: 1 << 16)
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Self.retryAfterSeconds($0) }
            return .response(status: Int(response.status.code), retryAfter: retryAfter)
        } catch {
            return .networkError(String(describing: error))
        }
    }

    /// `Retry-After` as seconds: delta-seconds, or an HTTP date in the future.
    static func retryAfterSeconds(_ value: String, now: Date = Date()) -> Int64? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int64(text) { return max(0, seconds) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = f.date(from: text) else { return nil }
        return max(0, Int64(date.timeIntervalSince(now).rounded(.up)))
    }
}
