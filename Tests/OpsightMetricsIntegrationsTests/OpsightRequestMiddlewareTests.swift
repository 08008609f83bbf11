import Hummingbird
import HummingbirdTesting
import OpsightMetrics
import OpsightMetricsIntegrations
import Synchronization
import Testing

/// The middleware records route template, method, status and request id of every request.
@Suite struct OpsightRequestMiddlewareTests {
    /// Collects delivered lines.
    final class Lines: Transport {
        let lines = Mutex<[String]>([])

        func send(body: [UInt8], lineCount: Int) async throws -> TransportOutcome {
            let text = String(decoding: body, as: UTF8.self)
            lines.withLock { $0 += text.split(separator: "\n").map(String.init) }
            return .delivered(accepted: lineCount, rejected: 0)
        }
    }

    struct Teapot: Error {}

    @Test func routesStatusesAndRequestIDsAreRecorded() async throws {
        let transport = Lines()
        let emitter = OpsightEmitter(service: "svc", transport: transport)
        let router = Router()
        router.add(middleware: OpsightRequestMiddleware(emitter: emitter))
        router.get("/users/{id}") { _, _ in "user" }
        router.post("/users/{id}/items/{item}") { _, _ -> Response in Response(status: .created) }
        router.get("/bad") { _, _ -> String in throw HTTPError(.badRequest, message: "nope") }
        router.get("/crash") { _, _ -> String in throw Teapot() }
        let app = Application(router: router)
        let ids = try await app.test(.router) { client -> [String?] in
            var ids: [String?] = []
            let given = try await client.execute(
                uri: "/users/42", method: .get,
                headers: [OpsightRequestMiddleware<BasicRequestContext>.requestIDHeader: "given-1"])
            #expect(given.status == .ok)
            #expect(given.headers[OpsightRequestMiddleware<BasicRequestContext>.requestIDHeader] == "given-1")
            for (uri, method, status) in [
                ("/users/7/items/9", HTTPRequest.Method.post, HTTPResponse.Status.created),
                ("/bad", .get, .badRequest), ("/crash", .get, .internalServerError), ("/nowhere", .get, .notFound),
            ] {
                let response = try await client.execute(uri: uri, method: method)
                #expect(response.status == status)
                ids.append(response.headers[OpsightRequestMiddleware<BasicRequestContext>.requestIDHeader])
            }
            return ids
        }
        let loop = Task { await emitter.run() }
        await emitter.flush()
        emitter.shutdown()
        await loop.value
        let decoder = EventDecoder()
        let events = try transport.lines.withLock { $0 }.map { line in
            try Array(line.utf8).withUnsafeBytes { try decoder.decode($0, nowMs: WallClock.system.nowMs()) }
        }
        #expect(events.map(\.route) == ["/users/:id", "/users/:id/items/:item", "/bad", "/crash", "NotFound"])
        #expect(events.map(\.method) == ["GET", "POST", "GET", "GET", "GET"])
        #expect(events.map(\.status) == [200, 201, 400, 500, 404])
        #expect(events.allSatisfy { $0.kind == .request && ($0.durationMs ?? -1) >= 0 })
        #expect(ids.allSatisfy { ($0?.count ?? 0) == 36 }, "a new id is a UUID: \(ids)")
        #expect(Set(ids).count == ids.count)
    }

    @Test(arguments: [
        ("/a/{id}", "/a/:id"), ("/a/{x}/b/{y}.json", "/a/:x/b/:y.json"), ("/plain", "/plain"), ("*", "*"),
    ])
    func templatesUseTheSchemaStyle(endpoint: String, expected: String) {
        #expect(OpsightRequestMiddleware<BasicRequestContext>.template(endpoint) == expected)
    }
}
