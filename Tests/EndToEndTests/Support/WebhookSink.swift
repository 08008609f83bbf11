import Foundation
import Hummingbird
import Synchronization

/// A real HTTP receiver on a loopback port that records every POST (headers with lowercased names, body, arrival
/// time) and answers
/// with the next scripted status, then 200.
final class WebhookSink: Sendable {
    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: [UInt8]
        var atMs: Int64
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
    }

    private let script: Mutex<[Int]>
    private let received = Mutex<[Received]>([])

    init(script: [Int] = []) { self.script = Mutex(script) }

    var requests: [Received] { received.withLock { $0 } }

    /// Runs the sink while `body` runs, passing its base URL (`http://127.0.0.1:PORT`); on `port`, or a free one.
    func serve(port fixed: Int = 0, _ body: (String) async throws -> Void) async throws {
        let router = Router()
        router.post("/**") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 4 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let item = Received(
                path: request.uri.path, headers: headers, body: Array(buffer: bytes),
                atMs: Int64(Date().timeIntervalSince1970 * 1000))
            self.received.withLock { $0.append(item) }
            let status = self.script.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
            return Response(status: .init(code: status))
        }
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: fixed)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var bound: Int?
            for _ in 0..<500 where bound == nil {
                try await Task.sleep(for: .milliseconds(10))
                bound = port.withLock { $0 }
            }
            guard let bound else { throw E2EError("the webhook sink did not start") }
            do { try await body("http://127.0.0.1:\(bound)") } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }
}
