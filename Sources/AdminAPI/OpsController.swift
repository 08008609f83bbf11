import Collector
import Foundation
import Hummingbird
import OpsightMetrics

/// The core ops JSON endpoints of SPEC §7: latency, services overview, routes of a service.
public struct OpsController<Context: RequestContext>: Sendable {
    let reader: MetricsReader
    let tokens: AccessTokens
    let now: @Sendable () -> Int64

    /// Creates the controller; `now` gives unix milliseconds (injected so tests can fix it).
    public init(
        reader: MetricsReader, tokens: AccessTokens,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.reader = reader
        self.tokens = tokens
        self.now = now
    }

    /// Adds the routes to `router`.
    public func register(on router: Router<Context>) {
        router.get("/api/v1/latency") { request, _ in try await self.latency(request) }
        router.get("/api/v1/services") { request, _ in try await self.services(request) }
        router.get("/api/v1/services/:service/routes") { request, context in
            // The router hands over the segment still percent-encoded; service names may hold any character.
            let raw = try context.parameters.require("service")
            return try await self.routes(request, service: raw.removingPercentEncoding ?? raw)
        }
        router.get("/api/v1/jobs") { request, _ in try await self.jobs(request) }
        router.get("/api/v1/timeseries") { request, _ in try await self.timeseries(request) }
    }

    func read(_ p: QueryParameters, service: String?) async throws -> (MetricsReader.Result, String, Int64) {
        let window = try p.window()
        let result = try await read(service: service, windowMs: window.ms, timeMs: try p.time())
        return (result, window.text, window.ms)
    }

    /// One window read, with store and window errors mapped to HTTP errors.
    func read(service: String?, windowMs: Int64, timeMs: Int64?) async throws -> MetricsReader.Result {
        do {
            return try await reader.window(service: service, windowMs: windowMs, timeMs: timeMs, nowMs: now())
        } catch let error as CollectorError where error.code == .invalid {
            throw APIError.badRequest(error.message, parameter: "window")
        } catch let error as CollectorError {
            throw APIError.storeUnavailable(error.message)
        }
    }

    private func latency(_ request: Request) async throws -> Response {
        try tokens.authorize(request, scope: "read")
        let p = QueryParameters(request: request)
        let service = try p.required("service")
        let qs = try p.quantiles()
        let (result, windowText, _) = try await read(p, service: service)
        var body: [String: JSON] = [
            "service": .string(service), "window": .string(windowText), "time": .number(Double(result.timeMs) / 1000),
        ]
        let sketch: LogSketch
        if let queue = p.optional("queue") {
            let job = try p.required("job")
            let metric = p.optional("metric") ?? "duration"
            guard metric == "duration" || metric == "wait" else {
                throw APIError.badRequest("metric must be 'duration' or 'wait'", parameter: "metric")
            }
            let stats = result.data.jobs[JobKey(service: service, queue: queue, job: job)] ?? JobStats()
            sketch = metric == "wait" ? stats.wait : stats.duration
            body["queue"] = .string(queue)
            body["job"] = .string(job)
            body["metric"] = .string(metric)
        } else {
            let route = p.optional("route")
            let method = p.optional("method")?.uppercased()
            var merged = RequestStats()
            for (key, stats) in result.data.requests
            where (route == nil || key.route == route) && (method == nil || key.method == method) {
                merged.merge(stats)
            }
            sketch = merged.latency
            if let route { body["route"] = .string(route) }
            if let method { body["method"] = .string(method) }
        }
        body["count"] = .number(Double(sketch.count))
        body["quantiles"] = .object(Self.quantiles(sketch, qs))
        return try JSONResponse.ok(.object(body))
    }

    private func services(_ request: Request) async throws -> Response {
        try tokens.authorize(request, scope: "read")
        let p = QueryParameters(request: request)
        let (result, windowText, windowMs) = try await read(p, service: nil)
        let requests = result.data.requestsByService()
        var jobs: [String: JobStats] = [:]
        for (k, v) in result.data.jobs { jobs[k.service, default: JobStats()].merge(v) }
        var names = Set(requests.keys).union(jobs.keys)
        names.formUnion(result.data.logs.keys)
        let list: [JSON] = names.sorted().map { name in
            let r = requests[name] ?? RequestStats()
            let j = jobs[name] ?? JobStats()
            var o = Self.requestSummary(r, windowMs: windowMs)
            o["service"] = .string(name)
            o["jobs"] = .object([
                "succeeded": .number(Double(j.succeeded)), "failed": .number(Double(j.failed)),
                "failure_ratio": j.failureRatio.map(JSON.number) ?? .null,
            ])
            return .object(o)
        }
        return try JSONResponse.ok(
            .object([
                "window": .string(windowText), "time": .number(Double(result.timeMs) / 1000), "services": .array(list),
            ]))
    }

    private func routes(_ request: Request, service: String) async throws -> Response {
        try tokens.authorize(request, scope: "read")
        let p = QueryParameters(request: request)
        let (result, windowText, windowMs) = try await read(p, service: service)
        let list: [JSON] = result.data.requests
            .sorted { ($0.key.route, $0.key.method) < ($1.key.route, $1.key.method) }
            .map { key, stats in
                var o = Self.requestSummary(stats, windowMs: windowMs)
                o["route"] = .string(key.route)
                o["method"] = .string(key.method)
                return .object(o)
            }
        return try JSONResponse.ok(
            .object([
                "service": .string(service), "window": .string(windowText),
                "time": .number(Double(result.timeMs) / 1000), "routes": .array(list),
            ]))
    }

    static func requestSummary(_ r: RequestStats, windowMs: Int64) -> [String: JSON] {
        [
            "requests": .number(Double(r.count)), "errors": .number(Double(r.errors)),
            "client_errors": .number(Double(r.class4xx)),
            "request_rate": .number(Double(r.count) / (Double(windowMs) / 1000)),
            "error_ratio": r.errorRatio.map(JSON.number) ?? .null,
            "latency": .object(quantiles(r.latency, [("0.5", 0.5), ("0.95", 0.95), ("0.99", 0.99)])),
        ]
    }

    /// Quantiles in seconds (the sketch holds milliseconds); null for an empty window.
    static func quantiles(_ sketch: LogSketch, _ qs: [(key: String, q: Double)]) -> [String: JSON] {
        var out: [String: JSON] = [:]
        for (key, q) in qs { out[key] = sketch.quantile(q).map { .number($0 / 1000) } ?? .null }
        return out
    }
}
