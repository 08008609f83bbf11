import AssessmentCore
import Foundation
import Hummingbird
import HummingbirdTesting
import OpsightMetrics
import Synchronization
import Testing

private let env = ProcessInfo.processInfo.environment

@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct AssessmentAPITests {
    @Test func aJourneyRecordsItsRequestsAndFunnelEventsAndTheReportWaitsForTheResult() async throws {
        try await withStore { store in
            let transport = CapturingTransport()
            let emitter = OpsightEmitter(service: "assessment", transport: transport)
            let faults = FaultInjector(FaultSettings(aiFailureRate: 0))
            let api = AssessmentAPI(
                store: store, emitter: emitter, faults: faults, counters: JobCounters(),
                expectedLatency: .milliseconds(10))
            let app = Application(router: api.router())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await emitter.run() }
                try await app.test(.router) { client in
                    let user: HTTPFields = [AssessmentAPI.userHeader: "u-7"]
                    let document = try await client.execute(
                        uri: "/api/v1/documents", method: .post, headers: user,
                        body: ByteBuffer(string: #"{"title":"t","content":"some words"}"#))
                    #expect(document.status == .created)
                    let documentID = try #require(Self.json(document.body)["id"] as? String)
                    let created = try await client.execute(
                        uri: "/api/v1/assessments", method: .post, headers: user,
                        body: ByteBuffer(string: #"{"document_id":"\#(documentID)","frameworks":["soc2"]}"#))
                    #expect(created.status == .accepted)
                    let body = try Self.json(created.body)
                    #expect(body["status"] as? String == "processing")
                    let id = try #require(body["id"] as? String)
                    // No worker runs: the report is not there yet.
                    let early = try await client.execute(uri: "/api/v1/assessments/\(id)/report", method: .get)
                    #expect(early.status == .conflict)
                    let polled = try Self.json(
                        try await client.execute(uri: "/api/v1/assessments/\(id)", method: .get).body)
                    #expect(polled["status"] as? String == "processing")
                    #expect(polled["eta_seconds"] as? Double != nil)
                    let missing = try await client.execute(uri: "/api/v1/assessments/\(UUID())", method: .get)
                    #expect(missing.status == .notFound)
                    let unknownDocument = try await client.execute(
                        uri: "/api/v1/assessments", method: .post,
                        body: ByteBuffer(string: #"{"document_id":"\#(UUID())"}"#))
                    #expect(unknownDocument.status == .notFound)

                    let job = try #require(try await store.claim(worker: "t"))
                    #expect(try await store.complete(job, resultJSON: #"{"ok": true}"#))
                    let report = try await client.execute(
                        uri: "/api/v1/assessments/\(id)/report", method: .get, headers: user)
                    #expect(report.status == .ok)
                    #expect((try Self.json(report.body)["result"] as? [String: Any])?["ok"] as? Bool == true)

                    faults.update(FaultSettings(errorRate: 1, aiFailureRate: 0))
                    let injected = try await client.execute(uri: "/api/v1/assessments/\(id)", method: .get)
                    #expect(injected.status == .internalServerError)
                    let admin = try await client.execute(uri: "/admin/faults", method: .get)
                    #expect(admin.status == .ok)
                }
                await emitter.flush()
                emitter.shutdown()
                try await group.waitForAll()
            }
            let events = transport.events
            let funnel = events.filter { $0["kind"] as? String == "event" }.map {
                "\($0["event"] as? String ?? "?") \($0["entity"] as? String ?? "?")"
            }
            #expect(funnel == ["document_uploaded u-7", "assessment_requested u-7", "report_viewed u-7"])
            let requests = events.filter { $0["kind"] as? String == "request" }.map {
                "\($0["method"] as? String ?? "?") \($0["route"] as? String ?? "?") \($0["status"] as? Int ?? 0)"
            }
            #expect(
                requests == [
                    "POST /api/v1/documents 201", "POST /api/v1/assessments 202",
                    "GET /api/v1/assessments/:id/report 409",
                    "GET /api/v1/assessments/:id 200", "GET /api/v1/assessments/:id 404",
                    "POST /api/v1/assessments 404",
                    "GET /api/v1/assessments/:id/report 200", "GET /api/v1/assessments/:id 500",
                    "GET /admin/faults 200",
                ])
            let jobs = events.filter { $0["kind"] as? String == "job" }
            #expect(jobs.count == 1 && jobs.first?["event"] as? String == "enqueued")
        }
    }

    /// A response body as a JSON object.
    static func json(_ body: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
    }
}

/// A transport keeping every delivered line.
final class CapturingTransport: Transport {
    private let lines = Mutex<[String]>([])

    /// The delivered lines, decoded.
    var events: [[String: Any]] {
        lines.withLock { $0 }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func send(body: [UInt8], lineCount: Int) async throws -> TransportOutcome {
        let text = body.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        lines.withLock { $0.append(contentsOf: text) }
        return .delivered(accepted: lineCount, rejected: 0)
    }
}
