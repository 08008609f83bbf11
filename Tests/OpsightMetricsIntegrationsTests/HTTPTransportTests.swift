import AsyncHTTPClient
import Hummingbird
import HummingbirdTesting
import OpsightMetrics
import OpsightMetricsIntegrations
import Testing

/// `HTTPTransport` against a real HTTP server on a loopback port.
@Suite struct HTTPTransportTests {
    static let body = Array("{\"service\":\"s\",\"msg\":\"a\"}\n{\"service\":\"s\",\"msg\":\"b\\\"\"}\n".utf8)

    @Test func sendsGzipWithTheBearerTokenAndReadsTheCounts() async throws {
        let collector = FakeCollector(answers: [
            .init(status: .ok, body: #"{"accepted":1,"rejected":1,"errors":[{"line":2,"error":"x"}]}"#)
        ])
        let app = Application(
            router: collector.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let transport = HTTPTransport(
                configuration: .init(url: "http://127.0.0.1:\(port)", token: "secret-token"))
            let outcome = try await transport.send(body: Self.body, lineCount: 2)
            #expect(outcome == .delivered(accepted: 1, rejected: 1))
        }
        let received = try #require(collector.received.first)
        #expect(received.authorization == "Bearer secret-token")
        #expect(received.contentEncoding == "gzip")
        #expect(received.contentType == "application/x-ndjson")
        #expect(Array(received.body.utf8) == Self.body)
    }

    @Test func sendsPlainBodiesWhenGzipIsOff() async throws {
        let collector = FakeCollector()
        let app = Application(
            router: collector.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let transport = HTTPTransport(
                configuration: .init(url: "http://127.0.0.1:\(port)/v1/ingest", token: nil, gzipLevel: nil))
            #expect(try await transport.send(body: Self.body, lineCount: 2) == .delivered(accepted: 2, rejected: 0))
        }
        let received = try #require(collector.received.first)
        #expect(received.contentEncoding == nil)
        #expect(received.authorization == nil)
        #expect(Array(received.body.utf8) == Self.body)
    }

    @Test(
        arguments: [
            (HTTPResponse.Status.tooManyRequests, "7", TransportOutcomeKind.retry(after: .seconds(7))),
            (.serviceUnavailable, "2", .retry(after: .seconds(2))),
            (.serviceUnavailable, nil, .retry(after: nil)),
            (.requestTimeout, nil, .retry(after: nil)),
            (.internalServerError, nil, .retry(after: nil)),
            (.badRequest, nil, .permanent),
            (.unauthorized, nil, .permanent),
            (.contentTooLarge, nil, .permanent),
        ] as [(HTTPResponse.Status, String?, TransportOutcomeKind)])
    func answersAreClassified(status: HTTPResponse.Status, retryAfter: String?, expected: TransportOutcomeKind)
        async throws
    {
        let collector = FakeCollector(answers: [.init(status: status, retryAfter: retryAfter, body: "no")])
        let app = Application(
            router: collector.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let transport = HTTPTransport(configuration: .init(url: "http://127.0.0.1:\(port)", token: "t"))
            let outcome = try await transport.send(body: Self.body, lineCount: 2)
            #expect(TransportOutcomeKind(outcome) == expected, "\(outcome)")
        }
    }

    @Test func anUnreachableCollectorIsRetryable() async throws {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let transport = HTTPTransport(
            configuration: .init(url: "http://127.0.0.1:1", token: "t", timeout: .seconds(2)))
        let outcome = try await transport.send(body: Self.body, lineCount: 2)
        #expect(TransportOutcomeKind(outcome) == .retry(after: nil))
    }

    @Test func theEmitterRetriesThroughA429WithRetryAfterAndDeliversEverything() async throws {
        let collector = FakeCollector(answers: [.init(status: .tooManyRequests, retryAfter: "0", body: "busy")])
        let app = Application(
            router: collector.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let transport = HTTPTransport(configuration: .init(url: "http://127.0.0.1:\(port)", token: "t"))
            let emitter = OpsightEmitter(
                service: "svc", transport: transport,
                configuration: .init(retry: RetryPolicy(initialBackoff: .milliseconds(1))))
            let loop = Task { await emitter.run() }
            for i in 0..<20 { emitter.funnel(event: "e\(i)", entity: "u") }
            await emitter.flush()
            emitter.shutdown()
            await loop.value
            #expect(emitter.statistics.accepted == 20)
            #expect(emitter.statistics.retries == 1)
        }
        let received = collector.received
        #expect(received.count == 2)
        #expect(received.first?.body == received.last?.body)
        #expect(received.last?.body.split(separator: "\n").count == 20)
    }
}

/// An outcome without the reason text, for comparing.
enum TransportOutcomeKind: Equatable, Sendable {
    case delivered(accepted: Int, rejected: Int)
    case retry(after: Duration?)
    case permanent

    init(_ outcome: TransportOutcome) {
        switch outcome {
        case .delivered(let accepted, let rejected): self = .delivered(accepted: accepted, rejected: rejected)
        case .retry(let after, _): self = .retry(after: after)
        case .permanent: self = .permanent
        }
    }
}
