import CompressNIO
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AdminAPI
@testable import Collector
import HTTPLayer
import OpsightTestSupport
import QueryModel

@Suite struct IngestControllerTests {
    static let tokens = AccessTokens([
        .init(name: "ops", secret: "ops-secret", scopes: ["ingest", "read"]),
        .init(name: "reader", secret: "read-secret", scopes: ["read"]),
    ])

    /// An app over in-memory stores, its WAL in a temporary directory.
    func withApp(maxBodyBytes: Int = 16 << 20, _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void)
        async throws
    {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: .init(maxBodyBytes: maxBodyBytes), hot: hot, durable: durable,
            logger: Logger(label: "test"))
        defer { runtime.commitLog.shutdown() }
        let flusher = Flusher(
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status, logger: Logger(label: "test"))
        let router = Router()
        router.add(middleware: RequestIDMiddleware())
        let routes = ScopedRoutes(router: router, tokens: Self.tokens)
        IngestController(pipeline: runtime.pipeline).register(on: routes)
        OpsController(reader: MetricsReader(hot: hot, durable: durable)).register(on: routes)
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await test(client)
            #expect(await flusher.flushNow())
        }
    }

    func line(_ status: Int, _ ms: Double) -> String {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return #"{"ts":\#(now),"service":"api","route":"/r","method":"GET","status":\#(status),"duration_ms":\#(ms)}"#
    }

    @Test func partialSuccessReportsBadLinesAndKeepsTheGoodOnes() async throws {
        try await withApp { client in
            let body = [line(200, 5), "{bad", "", line(500, 7), #"{"service":"api","status":"x","duration_ms":1}"#]
                .joined(separator: "\r\n")
            let response = try await client.execute(
                uri: "/v1/ingest", method: .post, headers: [.authorization: "Bearer ops-secret"],
                body: ByteBuffer(string: body))
            #expect(response.status == .ok)
            let result = try JSONDecoder().decode(IngestResult.self, from: Data(buffer: response.body))
            #expect(result.accepted == 2)
            #expect(result.rejected == 2)
            #expect(result.errors.map(\.line) == [2, 5])
            #expect(result.errors.last?.error.hasPrefix("status") == true)
        }
    }

    @Test func gzipBodiesAreAcceptedAndBombsRefused() async throws {
        try await withApp(maxBodyBytes: 1 << 20) { client in
            var plain = ByteBuffer(string: (0..<100).map { _ in line(200, 3) }.joined(separator: "\n"))
            let gz = try plain.compress(with: .gzip())
            let ok = try await client.execute(
                uri: "/v1/ingest", method: .post,
                headers: [.authorization: "Bearer ops-secret", .contentEncoding: "gzip"], body: gz)
            #expect(ok.status == .ok)
            #expect(try JSONDecoder().decode(IngestResult.self, from: Data(buffer: ok.body)).accepted == 100)

            var zeros = ByteBuffer(repeating: 0x20, count: 4 << 20)
            let bomb = try zeros.compress(with: .gzip())
            #expect(bomb.readableBytes < 64 << 10)
            let refused = try await client.execute(
                uri: "/v1/ingest", method: .post,
                headers: [.authorization: "Bearer ops-secret", .contentEncoding: "gzip"], body: bomb)
            #expect(refused.status == .contentTooLarge)

            // A cut-off stream is refused whole: a retry of the full body must not count its first lines twice.
            var many = ByteBuffer(string: (0..<2_000).map { _ in line(200, 3) }.joined(separator: "\n"))
            let full = try many.compress(with: .gzip())
            let half = full.getSlice(at: full.readerIndex, length: full.readableBytes / 2)!
            let truncated = try await client.execute(
                uri: "/v1/ingest", method: .post,
                headers: [.authorization: "Bearer ops-secret", .contentEncoding: "gzip"], body: half)
            #expect(truncated.status == .badRequest)

            let garbage = try await client.execute(
                uri: "/v1/ingest", method: .post,
                headers: [.authorization: "Bearer ops-secret", .contentEncoding: "gzip"], body: ByteBuffer(string: "nope"))
            #expect(garbage.status == .badRequest)
        }
    }

    @Test func oversizedBodyIs413AndNothingIsAccepted() async throws {
        try await withApp(maxBodyBytes: 4096) { client in
            let body = (0..<100).map { _ in line(200, 1) }.joined(separator: "\n")
            let response = try await client.execute(
                uri: "/v1/ingest", method: .post, headers: [.authorization: "Bearer ops-secret"],
                body: ByteBuffer(string: body))
            #expect(response.status == .contentTooLarge)
            let latency = try await client.execute(
                uri: "/api/v1/latency?service=api&window=1m", method: .get, headers: [.authorization: "Bearer ops-secret"])
            let json = try JSONSerialization.jsonObject(with: Data(buffer: latency.body)) as? [String: Any]
            #expect(json?["count"] as? Int == 0)
        }
    }

    @Test func tokensAndScopesAreEnforcedWithTheErrorShape() async throws {
        try await withApp { client in
            let none = try await client.execute(
                uri: "/v1/ingest", method: .post, headers: [.requestID: "abc-123"], body: ByteBuffer(string: line(200, 1)))
            #expect(none.status == .unauthorized)
            #expect(none.headers[.requestID] == "abc-123")
            let json = try JSONSerialization.jsonObject(with: Data(buffer: none.body)) as? [String: Any]
            let error = json?["error"] as? [String: Any]
            #expect(error?["code"] as? String == "unauthorized")
            #expect(error?["request_id"] as? String == "abc-123")
            #expect(error?["message"] as? String != nil)
            #expect(error?["details"] != nil)

            let wrongScope = try await client.execute(
                uri: "/v1/ingest", method: .post, headers: [.authorization: "Bearer read-secret"],
                body: ByteBuffer(string: line(200, 1)))
            #expect(wrongScope.status == .forbidden)
            #expect(wrongScope.headers[.requestID]?.isEmpty == false)

            let unknown = try await client.execute(
                uri: "/api/v1/services", method: .get, headers: [.authorization: "Bearer nope"])
            #expect(unknown.status == .unauthorized)
        }
    }

    @Test func readEndpointsValidateTheirParameters() async throws {
        try await withApp { client in
            let auth: HTTPFields = [.authorization: "Bearer read-secret"]
            for uri in [
                "/api/v1/latency?window=5m", "/api/v1/latency?service=a&window=5x", "/api/v1/latency?service=a&q=1.5",
                "/api/v1/services?time=yesterday", "/api/v1/services?window=15s",
            ] {
                let r = try await client.execute(uri: uri, method: .get, headers: auth)
                #expect(r.status == .badRequest, "\(uri)")
                let json = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
                #expect((json?["error"] as? [String: Any])?["code"] as? String == "bad_request", "\(uri)")
            }
        }
    }
}
