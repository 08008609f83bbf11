import Collector
import HTTPLayer
import Hummingbird
import OpsightMetrics

extension OpsController {
    /// `GET /api/v1/jobs?window=5m[&service=S][&queue=Q][&time=T]`: every job series of the window with its
    /// lifecycle counts, failure ratio and duration / queue-wait quantiles (seconds).
    func jobs(_ request: Request) async throws -> Response {
        let p = try await RequestParameters(request)
        let service = p.optional("service")
        let queue = p.optional("queue")
        let qs = try p.quantiles()
        let (result, windowText, windowMs) = try await read(p, service: service)
        let list: [JSON] = result.data.jobs
            .filter { queue == nil || $0.key.queue == queue }
            .sorted { ($0.key.service, $0.key.queue, $0.key.job) < ($1.key.service, $1.key.queue, $1.key.job) }
            .map { key, stats in
                var o = Self.jobSummary(stats, windowMs: windowMs, quantiles: qs)
                o["service"] = .string(key.service)
                o["queue"] = .string(key.queue)
                o["job"] = .string(key.job)
                return .object(o)
            }
        var body: [String: JSON] = [
            "window": .string(windowText), "time": .number(Double(result.timeMs) / 1000), "jobs": .array(list),
        ]
        if let service { body["service"] = .string(service) }
        if let queue { body["queue"] = .string(queue) }
        return try JSONResponse.ok(.object(body))
    }

    static func jobSummary(_ j: JobStats, windowMs: Int64, quantiles qs: [(key: String, q: Double)]) -> [String: JSON] {
        [
            "enqueued": .number(Double(j.enqueued)), "started": .number(Double(j.started)),
            "succeeded": .number(Double(j.succeeded)), "failed": .number(Double(j.failed)),
            "retried": .number(Double(j.retried)),
            "completion_rate": .number(Double(j.succeeded + j.failed) / (Double(windowMs) / 1000)),
            "failure_ratio": j.failureRatio.map(JSON.number) ?? .null,
            "duration": .object(quantiles(j.duration, qs)),
            "wait": .object(quantiles(j.queueWait, qs)),
        ]
    }
}
