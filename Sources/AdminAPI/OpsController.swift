import Collector
import Foundation
import HTTPLayer
import Hummingbird
import OpsightMetrics
import PromQL
import QueryModel

/// The core ops JSON endpoints of SPEC §7: latency, services overview, routes of a service.
public struct OpsController<Context: RequestContext>: Sendable {
    let reader: MetricsReader
    let clock: WallClock
    let limits: QueryLimits

    /// Creates the controller; `clock` gives the current time (injected so tests can fix it), `limits` bounds a
    /// chart's run time.
    public init(reader: MetricsReader, clock: WallClock = .system, limits: QueryLimits = .init()) {
        self.reader = reader
        self.clock = clock
        self.limits = limits
    }

    /// Adds the routes, all with the `read` scope.
    public func register(on routes: ScopedRoutes<Context>) {
        let api = routes.group("/api/v1", scope: .read)
        api.get("latency") { request, _ in try await self.latency(request) }
        api.get("services") { request, _ in try await self.services(request) }
        api.get("services/:service/routes") { request, context in
            // The router hands over the segment still percent-encoded; service names may hold any character.
            let raw = try context.parameters.require("service")
            return try await self.routes(request, service: raw.removingPercentEncoding ?? raw)
        }
        api.get("jobs") { request, _ in try await self.jobs(request) }
        api.get("timeseries") { request, _ in try await self.timeseries(request) }
    }

    func read(_ p: RequestParameters, service: String?) async throws -> (MetricsReader.Result, String, Int64) {
        let window = try p.window()
        let time: EvaluationTime = try p.time("time").map { .at($0) } ?? .now(clock.nowMs())
        let result = try await reader.window(service: service, windowMs: window.ms, at: time)
        return (result, window.text, window.ms)
    }

    private func latency(_ request: Request) async throws -> Response {
        let p = try await RequestParameters(request)
        let service = try p.required("service")
        let qs = try p.quantiles()
        let (result, windowText, _) = try await read(p, service: service)
        var body: [String: JSON] = [
            "service": .string(service), "window": .string(windowText), "time": .number(Double(result.timeMs) / 1000),
        ]
        let sketch: LogSketch
        if let queue = p.optional("queue") {
            let job = try p.required("job")
            let metric = try p.oneOf("metric", ["duration", "wait"]) ?? "duration"
            let stats = result.data.jobs[JobKey(service: service, queue: queue, job: job)] ?? JobStats()
            sketch = metric == "wait" ? stats.queueWait : stats.duration
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
        let p = try await RequestParameters(request)
        let (result, windowText, windowMs) = try await read(p, service: nil)
        let requests = reader.requestsByService(result, windowMs: windowMs)
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
        let p = try await RequestParameters(request)
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
