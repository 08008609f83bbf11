import CompressNIO
import Hummingbird
import NIOCore
import Synchronization

/// A stand-in for the collector's `POST /v1/ingest`: records what it receives and answers from a script.
final class FakeCollector: Sendable {
    /// One scripted answer.
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var retryAfter: String?
        var body: String
    }

    /// What one request carried.
    struct Received: Sendable {
        var authorization: String?
        var contentEncoding: String?
        var contentType: String?
        /// The body after gunzip when it was gzip'd.
        var body: String
    }

    private struct State {
        var answers: [Answer]
        var received: [Received] = []
    }

    private let state: Mutex<State>

    /// Creates a collector answering `answers` in order, then 200 with the line count.
    init(answers: [Answer] = []) {
        state = Mutex(State(answers: answers))
    }

    /// The requests received, in order.
    var received: [Received] { state.withLock { $0.received } }

    /// A router with the ingest route.
    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/ingest") { request, context -> Response in
            var body = try await request.body.collect(upTo: 1 << 24)
            let encoding = request.headers[.contentEncoding]
            if encoding == "gzip" { body = try body.decompress(with: .gzip()) }
            let text = String(buffer: body)
            let answer = self.state.withLock { state -> Answer? in
                state.received.append(
                    Received(
                        authorization: request.headers[.authorization], contentEncoding: encoding,
                        contentType: request.headers[.contentType], body: text))
                return state.answers.isEmpty ? nil : state.answers.removeFirst()
            }
            let lines = text.split(separator: "\n").count
            let chosen = answer ?? Answer(status: .ok, body: #"{"accepted":\#(lines),"rejected":0,"errors":[]}"#)
            var headers = HTTPFields()
            if let retryAfter = chosen.retryAfter { headers[.retryAfter] = retryAfter }
            return Response(
                status: chosen.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: chosen.body)))
        }
        return router
    }
}
