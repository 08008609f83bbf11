import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Abandonment probabilities and polling of a journey.
struct JourneyPlan: Sendable {
    var abandonAfterUpload: Double
    var abandonWhilePolling: Double
    var abandonBeforeReport: Double
    var pollInterval: Duration
    var maxPolls: Int
}

/// One user's upload → request → poll → report journey.
struct Journey: Sendable {
    let base: String
    let user: String
    let plan: JourneyPlan
    let client: HTTPClient
    let tally: Tally
    let random: SeededRandom

    /// Runs the journey, recording every answer and how the journey ended.
    func run() async {
        tally.journey(.started)
        tally.journey(await steps())
    }

    /// The journey's steps; returns how it ended.
    private func steps() async -> JourneyEnd {
        let document = ["title": "Policy \(user)", "content": String(repeating: "security policy text ", count: 20)]
        guard let uploaded = await call(.POST, "/api/v1/documents", route: "/api/v1/documents", body: document),
            uploaded.status == 201, let documentID = uploaded.json["id"] as? String
        else { return .failed }
        tally.funnelStep("document_uploaded", user: user)
        if random.chance(plan.abandonAfterUpload) { return .abandoned }
        let request: [String: Any] = ["document_id": documentID, "frameworks": ["iso27001", "soc2"]]
        guard let requested = await call(.POST, "/api/v1/assessments", route: "/api/v1/assessments", body: request),
            requested.status == 202, let id = requested.json["id"] as? String
        else { return .failed }
        tally.funnelStep("assessment_requested", user: user)
        var status = "processing"
        for _ in 0..<plan.maxPolls {
            try? await Task.sleep(for: plan.pollInterval)
            if random.chance(plan.abandonWhilePolling) { return .abandoned }
            guard let polled = await call(.GET, "/api/v1/assessments/\(id)", route: "/api/v1/assessments/:id") else {
                continue
            }
            guard polled.status == 200 else { continue }
            status = polled.json["status"] as? String ?? "processing"
            if status != "processing" { break }
        }
        guard status == "completed" else { return status == "failed" ? .assessmentFailed : .abandoned }
        if random.chance(plan.abandonBeforeReport) { return .abandoned }
        guard
            let report = await call(.GET, "/api/v1/assessments/\(id)/report", route: "/api/v1/assessments/:id/report"),
            report.status == 200
        else { return .failed }
        tally.funnelStep("report_viewed", user: user)
        return .completed
    }

    /// One request; the answer is tallied under `route` (the service's route template).
    private func call(_ method: HTTPMethod, _ path: String, route: String, body: [String: Any]? = nil) async -> Answer?
    {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "X-User-ID", value: user)
        if let body, let data = try? JSONSerialization.data(withJSONObject: body) {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let status = Int(response.status.code)
            tally.request(method: method.rawValue, route: route, status: status)
            let json = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any]
            return Answer(status: status, json: json ?? [:])
        } catch {
            tally.transportError(method: method.rawValue, route: route, error: error)
            return nil
        }
    }

    /// A status and a decoded JSON object body.
    struct Answer {
        var status: Int
        var json: [String: Any]
    }
}
