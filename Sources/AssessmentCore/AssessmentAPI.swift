import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpsightMetrics
import OpsightMetricsIntegrations

/// The service's HTTP API: documents, assessments, reports and the admin endpoints.
public struct AssessmentAPI: Sendable {
    /// Storage and queue.
    public let store: AssessmentStore
    /// Where request, funnel and job events go.
    public let emitter: OpsightEmitter
    /// Injected faults.
    public let faults: FaultInjector
    /// The service's own job counts.
    public let counters: JobCounters
    /// The AI step's median latency, for ETAs.
    public let expectedLatency: Duration

    /// The header naming the acting user (funnel `entity`).
    public static let userHeader = HTTPField.Name("X-User-ID")!

    /// Creates the API.
    public init(
        store: AssessmentStore, emitter: OpsightEmitter, faults: FaultInjector, counters: JobCounters,
        expectedLatency: Duration
    ) {
        self.store = store
        self.emitter = emitter
        self.faults = faults
        self.counters = counters
        self.expectedLatency = expectedLatency
    }

    /// A router with the request middleware, fault injection and every route.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: OpsightRequestMiddleware(emitter: emitter))
        router.add(middleware: FaultInjectionMiddleware(faults: faults))
        router.get("/healthz") { _, _ in "ok" }
        router.post("/api/v1/documents") { request, context in try await self.createDocument(request, context) }
        router.post("/api/v1/assessments") { request, context in try await self.createAssessment(request, context) }
        router.get("/api/v1/assessments/{id}") { request, context in try await self.getAssessment(request, context) }
        router.get("/api/v1/assessments/{id}/report") { request, context in try await self.report(request, context) }
        router.get("/admin/faults") { _, _ in try Self.json(self.faults.settings) }
        router.post("/admin/faults") { request, context -> Response in
            let current = self.faults.settings
            let patch = try await request.decode(as: FaultPatch.self, context: context)
            let updated = self.faults.update(
                FaultSettings(
                    errorRate: patch.errorRate ?? current.errorRate,
                    latencyMultiplier: patch.latencyMultiplier ?? current.latencyMultiplier,
                    aiFailureRate: patch.aiFailureRate ?? current.aiFailureRate))
            return try Self.json(updated)
        }
        router.get("/admin/stats") { _, _ -> Response in
            let states = try await self.store.stateCounts()
            let users = try await self.store.usersByState()
            let emitted = self.emitter.statistics
            let emitter: [String: Int] = [
                "emitted": emitted.emitted, "dropped": emitted.dropped, "accepted": emitted.accepted,
                "rejected": emitted.rejected, "failed": emitted.failed, "buffered": emitted.buffered,
            ]
            return try Self.object([
                "jobs": try Self.any(self.counters.snapshot),
                "assessments_by_state": states,
                "users_by_state": users,
                "emitter": emitter,
            ])
        }
        return router
    }

    /// `POST /api/v1/documents` `{title?, content}` → 201 `{id}`.
    func createDocument(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await request.decode(as: NewDocument.self, context: context)
        guard !body.content.isEmpty else { throw HTTPError(.badRequest, message: "content: must not be empty") }
        let user = Self.user(request)
        let id = try await store.insertDocument(userID: user, title: body.title ?? "untitled", content: body.content)
        emitter.funnel(event: "document_uploaded", entity: user, fields: ["document_id": .string(Self.text(id))])
        return try Self.object(["id": Self.text(id)], status: .created)
    }

    /// `POST /api/v1/assessments` `{document_id, frameworks}` → 202 `{id, status: "processing"}`.
    func createAssessment(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await request.decode(as: NewAssessment.self, context: context)
        guard let documentID = UUID(uuidString: body.documentID) else {
            throw HTTPError(.badRequest, message: "document_id: not a UUID")
        }
        let frameworks = body.frameworks ?? ["iso27001"]
        guard !frameworks.isEmpty, frameworks.count <= 20 else {
            throw HTTPError(.badRequest, message: "frameworks: give 1 to 20 names")
        }
        guard try await store.documentExists(documentID) else {
            throw HTTPError(.notFound, message: "document_id: no document \(body.documentID)")
        }
        let user = Self.user(request)
        let id = try await store.enqueueAssessment(documentID: documentID, userID: user, frameworks: frameworks)
        let jobID = Self.text(id)
        emitter.job(
            queue: AssessmentWorker.queue, job: AssessmentWorker.job, jobID: jobID, event: .enqueued, attempt: 1,
            entity: user)
        counters.count(.enqueued)
        emitter.funnel(event: "assessment_requested", entity: user, fields: ["assessment_id": .string(jobID)])
        return try Self.object(["id": jobID, "status": "processing"], status: .accepted)
    }

    /// `GET /api/v1/assessments/{id}` → status, progress, eta_seconds and, once done, the result.
    func getAssessment(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let record = try await find(context)
        var body: [String: Any] = [
            "id": Self.text(record.id), "document_id": Self.text(record.documentID),
            "status": Self.status(record.state),
            "progress": record.progress, "attempts": record.attempts,
        ]
        let expected = OpsightSeconds.of(expectedLatency) * faults.settings.latencyMultiplier
        switch record.state {
        case .queued: body["eta_seconds"] = (record.runsIn ?? 0) + expected
        case .running: body["eta_seconds"] = max(expected - (record.runningFor ?? 0), 0)
        case .succeeded: body["eta_seconds"] = 0
        case .failed: body["error"] = record.error ?? "failed"
        }
        if let result = record.resultJSON {
            body["result"] = try JSONSerialization.jsonObject(with: Data(result.utf8))
        }
        return try Self.object(body)
    }

    /// `GET /api/v1/assessments/{id}/report` → the report view of a completed assessment (409 before).
    func report(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let record = try await find(context)
        guard record.state == .succeeded, let result = record.resultJSON else {
            throw HTTPError(.conflict, message: "assessment \(Self.text(record.id)) is \(Self.status(record.state))")
        }
        let user = Self.user(request)
        emitter.funnel(event: "report_viewed", entity: user, fields: ["assessment_id": .string(Self.text(record.id))])
        return try Self.object([
            "assessment_id": Self.text(record.id), "document_id": Self.text(record.documentID),
            "title": "Assessment report", "result": try JSONSerialization.jsonObject(with: Data(result.utf8)),
        ])
    }

    /// The assessment named by the `{id}` parameter, or a 404.
    private func find(_ context: BasicRequestContext) async throws -> AssessmentRecord {
        let raw = try context.parameters.require("id")
        guard let id = UUID(uuidString: raw) else { throw HTTPError(.notFound, message: "no assessment \(raw)") }
        guard let record = try await store.assessment(id) else {
            throw HTTPError(.notFound, message: "no assessment \(raw)")
        }
        return record
    }

    /// The API's status word for a state.
    static func status(_ state: AssessmentState) -> String {
        switch state {
        case .queued, .running: "processing"
        case .succeeded: "completed"
        case .failed: "failed"
        }
    }

    /// The acting user, `anonymous` without the header.
    static func user(_ request: Request) -> String {
        guard let user = request.headers[userHeader], !user.isEmpty else { return "anonymous" }
        return String(user.prefix(128))
    }

    /// A UUID as lower-case text.
    static func text(_ id: UUID) -> String { id.uuidString.lowercased() }

    /// An `Encodable` as a JSON object.
    static func any(_ value: some Encodable) throws -> Any {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
    }

    /// An `Encodable` as a JSON response.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return response(try encoder.encode(value), status: status)
    }

    /// A JSON object as a JSON response.
    static func object(_ value: [String: Any], status: HTTPResponse.Status = .ok) throws -> Response {
        response(try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), status: status)
    }

    /// JSON bytes as a response.
    private static func response(_ data: Data, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// `POST /api/v1/documents` body.
struct NewDocument: Decodable {
    var title: String?
    var content: String
}

/// `POST /api/v1/assessments` body.
struct NewAssessment: Decodable {
    var documentID: String
    var frameworks: [String]?
    enum CodingKeys: String, CodingKey {
        case documentID = "document_id"
        case frameworks
    }
}

/// `POST /admin/faults` body: fields left out keep their value.
struct FaultPatch: Decodable {
    var errorRate: Double?
    var latencyMultiplier: Double?
    var aiFailureRate: Double?
    enum CodingKeys: String, CodingKey {
        case errorRate = "error_rate"
        case latencyMultiplier = "latency_multiplier"
        case aiFailureRate = "ai_failure_rate"
    }
}
