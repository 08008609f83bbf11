import Collector
import Foundation
import HTTPLayer
import Hummingbird
import OpsightMetrics
import PromQL

extension OpsController {
    /// The metrics `/api/v1/timeseries` charts, each computed from one window read.
    enum ChartMetric: String, CaseIterable {
        case requestRate = "request_rate"
        case errorRatio = "error_ratio"
        case latency
        case jobFailureRatio = "job_failure_ratio"
        case jobDuration = "job_duration"
        case jobWait = "job_wait"
        case logLines = "log_lines"

        var isJob: Bool { self == .jobFailureRatio || self == .jobDuration || self == .jobWait }
    }

    /// Most points one chart request may ask for (Prometheus allows 11 000 per series; charts need far fewer).
    static var maxPoints: Int64 { 1_100 }

    /// `GET /api/v1/timeseries?service=S&metric=M&window=5m&from=T&to=T&step=60` (+ `route`, `method` for request
    /// metrics; `queue`, `job` for job metrics; `q` for quantiles): the windowed value at every step from `from`
    /// to `to`, as `[unix seconds, value]` pairs, null where the window holds no data.
    func timeseries(_ request: Request) async throws -> Response {
        let p = try await RequestParameters(request)
        let service = try p.required("service")
        let metricText = try p.required("metric")
        guard let metric = ChartMetric(rawValue: metricText) else {
            throw APIError.badRequest(
                "unknown metric '\(metricText)' (one of \(ChartMetric.allCases.map(\.rawValue).joined(separator: ", ")))",
                parameter: "metric")
        }
        let window = try p.window()
        let (from, to, step) = try range(p)
        let route = p.optional("route")
        let method = p.optional("method")?.uppercased()
        let queue = p.optional("queue")
        let job = p.optional("job")
        let qs = try p.quantiles()
        let names: [String] =
            switch metric {
            case .latency, .jobDuration, .jobWait: qs.map(\.key)
            case .logLines: LogLevel.allCases.map(\.rawString)
            default: ["value"]
            }
        // Up to `maxPoints` window reads: bounded by the query deadline, checked between reads.
        let points = try await QueryDeadline.run(timeout: limits.timeout) { [self] in
            try await chart(
                metric: metric, service: service, window: window.ms, from: from, to: to, step: step,
                filter: (route, method, queue, job), qs: qs, series: names.count)
        }
        var body: [String: JSON] = [
            "service": .string(service), "metric": .string(metric.rawValue), "window": .string(window.text),
            "from": .number(Double(from) / 1000), "to": .number(Double(to) / 1000), "step": .number(Double(step) / 1000),
            "series": .array(zip(names, points).map { .object(["name": .string($0), "points": .array($1)]) }),
        ]
        for (key, value) in [("route", route), ("method", method), ("queue", queue), ("job", job)] {
            if let value { body[key] = .string(value) }
        }
        return try JSONResponse.ok(.object(body))
    }

    /// What one point of a chart adds up: the request series (or job series) the filter keeps, and the service's
    /// log lines. Summing per bucket and then per point gives what summing the point's window would.
    struct ChartCell {
        var requests = RequestStats()
        var jobs = JobStats()
        var logs = LogStats()

        mutating func merge(_ other: ChartCell) {
            requests.merge(other.requests)
            jobs.merge(other.jobs)
            logs.merge(other.logs)
        }
    }

    /// The points of every series of one chart.
    private func chart(
        metric: ChartMetric, service: String, window: Int64, from: Int64, to: Int64, step: Int64,
        filter: (route: String?, method: String?, queue: String?, job: String?), qs: [(key: String, q: Double)],
        series: Int
    ) async throws -> [[JSON]] {
        let (route, method, queue, job) = filter
        var times: [Int64] = []
        var next = from
        while next <= to {
            times.append(next)
            next += step
        }
        let cells = try await reader.windowSeries(
            service: service, windowMs: window, at: times, empty: ChartCell(),
            project: { data in
                var cell = ChartCell()
                if metric.isJob {
                    for (k, v) in data.jobs where (queue == nil || k.queue == queue) && (job == nil || k.job == job) {
                        cell.jobs.merge(v)
                    }
                } else if metric == .logLines {
                    cell.logs = data.logs[service] ?? LogStats()
                } else {
                    for (k, v) in data.requests
                    where (route == nil || k.route == route) && (method == nil || k.method == method) {
                        cell.requests.merge(v)
                    }
                }
                return cell
            },
            merge: { $0.merge($1) })
        var points: [[JSON]] = Array(repeating: [], count: series)
        for (t, cell) in zip(times, cells) {
            let values: [Double?] =
                switch metric {
                case .jobDuration: qs.map { q in cell.jobs.duration.quantile(q.q).map { $0 / 1000 } }
                case .jobWait: qs.map { q in cell.jobs.queueWait.quantile(q.q).map { $0 / 1000 } }
                case .jobFailureRatio: [cell.jobs.failureRatio]
                case .logLines: LogLevel.allCases.map { Double(cell.logs.count($0)) }
                case .latency: qs.map { q in cell.requests.latency.quantile(q.q).map { $0 / 1000 } }
                case .errorRatio: [cell.requests.errorRatio]
                case .requestRate: [Double(cell.requests.count) / (Double(window) / 1000)]
                }
            for (i, v) in values.enumerated() {
                points[i].append(.array([.number(Double(t) / 1000), v.map(JSON.number) ?? .null]))
            }
        }
        return points
    }

    /// `from`, `to` (default: the last hour up to now) and `step` (default: about 120 points, on the 10 s grid),
    /// all in unix milliseconds.
    private func range(_ p: RequestParameters) throws(APIError) -> (Int64, Int64, Int64) {
        let to = try p.time("to") ?? clock.nowMs()
        let from = try p.time("from") ?? max(0, to - 3_600_000)
        guard from <= to else { throw APIError.badRequest("from must not be after to", parameter: "from") }
        let step = try p.step() ?? max(10_000, ((to - from) / 120 + 9_999) / 10_000 * 10_000)
        try RequestParameters.checkPoints(from: from, to: to, step: step, maxPoints: Self.maxPoints)
        return (from, to, step)
    }
}
