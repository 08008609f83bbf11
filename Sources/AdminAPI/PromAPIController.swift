import Collector
import Foundation
import HTTPLayer
import Hummingbird
import OpsightMetrics
import PromQL
import Synchronization

/// The Prometheus-compatible HTTP API (SPEC §7) so Grafana's Prometheus data source and `promtool query`
/// can use Opsight: same parameters (GET or form-encoded POST), same response and error shapes.
///
/// Every query runs under `limits`: at most `maxSeries` series per evaluation (422), `maxPoints` points per range
/// series (400) and `timeout` (503 `timeout`), after which its work is cancelled.
public struct PromAPIController<Context: RequestContext>: Sendable {
    private let source: any SampleSource
    private let clock: WallClock
    private let limits: QueryLimits
    private let ranges = RangesInFlight()

    /// Creates the controller over `source` (the query model's families).
    public init(source: any SampleSource, clock: WallClock = .system, limits: QueryLimits = .init()) {
        self.source = source
        self.clock = clock
        self.limits = limits
    }

    /// Adds the routes, all with the `read` scope and Prometheus's error shape.
    public func register(on routes: ScopedRoutes<Context>) {
        let api = routes.with(shape: .prometheus).group("/api/v1", scope: .read)
        for path in ["query", "query_range", "labels", "series"] {
            api.get(RouterPath(path)) { request, _ in
                try await self.handle(path, try await RequestParameters(request))
            }
            api.post(RouterPath(path)) { request, _ in
                try await self.handle(path, try await RequestParameters(request))
            }
        }
        api.get("label/:name/values") { request, context in
            try await self.labelValues(try await RequestParameters(request), name: context.parameters.require("name"))
        }
    }

    private func handle(_ path: String, _ p: RequestParameters) async throws -> Response {
        switch path {
        case "query": try await query(p)
        case "query_range": try await queryRange(p)
        case "labels": try await labels(p)
        default: try await series(p)
        }
    }

    private func deadline<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await QueryDeadline.run(timeout: limits.timeout, body)
    }

    private func query(_ p: RequestParameters) async throws -> Response {
        let text = try p.required("query")
        let time: EvaluationTime = try p.time("time").map { .at($0) } ?? .now(clock.nowMs())
        let expr = try Parser.parse(text)
        let value = try await deadline { [source, limits] in
            try await Evaluator(source: source, limits: limits).evaluate(expr, at: time)
        }
        return Self.success(json: PrometheusJSON.instant(value, at: time.milliseconds))
    }

    private func queryRange(_ p: RequestParameters) async throws -> Response {
        let text = try p.required("query")
        guard let start = try p.time("start") else {
            throw APIError.badRequest("missing parameter 'start'", parameter: "start")
        }
        guard let end = try p.time("end") else {
            throw APIError.badRequest("missing parameter 'end'", parameter: "end")
        }
        guard let step = try p.step() else { throw APIError.badRequest("missing parameter 'step'", parameter: "step") }
        guard end >= start else {
            throw APIError.badRequest("end timestamp must not be before start time", parameter: "end")
        }
        // Prometheus's own limit and wording.
        guard (end - start) / step < limits.maxPoints else {
            throw APIError.badRequest(
                "exceeded maximum resolution of \(limits.maxPoints) points per timeseries. Try decreasing the query "
                    + "resolution (?step=XX)",
                parameter: "step")
        }
        let expr = try Parser.parse(text)
        // A range query alone uses the cores (its steps in runs side by side); beside others it takes one, so that
        // concurrent queries do not pay for each run's first window.
        let alone = ranges.enter()
        defer { ranges.leave() }
        let parts =
            alone ? Self.runs(for: expr, span: end - start, cores: ProcessInfo.processInfo.activeProcessorCount) : 1
        let series = try await deadline { [source, limits] in
            try await Evaluator(source: source, limits: limits).evaluateRange(
                expr, start: start, end: end, step: step, parts: parts)
        }
        return Self.success(json: PrometheusJSON.matrix(series))
    }

    /// How many runs side by side a range query over `span` ms may be evaluated in (``Evaluator/evaluateRange(_:start:
    /// end:step:parts:)``): one per core, at most four, when every selector names one window (`window="5m"`) and each
    /// run's first whole window adds at most a quarter of the span to the work; else one. Each run sums its first
    /// window whole: for a `5m` window over an hour that is little, for `1d` it would be a day of minutes read again
    /// per run.
    static func runs(for expr: Expr, span: Int64, cores: Int) -> Int {
        var widest: Int64 = 0
        for selector in expr.selectors {
            guard let window = selector.allMatchers.first(where: { $0.name == "window" && $0.op == .equal }),
                let ms = PromDuration.milliseconds(window.value), ms > 0
            else { return 1 }
            widest = max(widest, ms)
        }
        var runs = min(max(cores, 1), 4)
        while runs > 1 {
            let (extra, overflow) = Int64(runs - 1).multipliedReportingOverflow(by: widest)
            if !overflow && extra <= span / 4 { break }
            runs -= 1
        }
        return runs
    }

    /// The samples `match[]` selects at `end` (now when absent or later than now).
    private func selected(_ p: RequestParameters, required: Bool) async throws -> [Sample] {
        let selectors = try p.all("match[]").map { try Parser.parseSelector($0) }
        if required && selectors.isEmpty {
            throw APIError.badRequest("no match[] parameter provided", parameter: "match[]")
        }
        let time = try metadataTime(p)
        return try await deadline { [source, limits] in
            let budget = Evaluator(source: source, limits: limits)
            if selectors.isEmpty { return try await budget.select([], at: time) }
            var out = Set<Sample>()
            for s in selectors { out.formUnion(try await budget.select(s, at: time)) }
            return Array(out)
        }
    }

    private func labels(_ p: RequestParameters) async throws -> Response {
        try Self.success(try await collected(p) { $0.labels.pairs.map(\.name) }.sorted())
    }

    private func labelValues(_ p: RequestParameters, name: String) async throws -> Response {
        try Self.success(try await collected(p) { $0.labels[name].map { [$0] } ?? [] }.sorted())
    }

    /// The `strings` of every sample `match[]` selects (everything when absent) at `end`, selected in parts (one
    /// family's window at a time, ``SampleSource/coveringSelectors(_:)``) under one deadline: every family of every
    /// window is ~300 000 series at 10 000 request series, past the per-evaluation cap, and Grafana's metric browser
    /// asks for `/api/v1/labels` and `__name__`'s values with no `match[]` at all.
    private func collected(_ p: RequestParameters, _ strings: @escaping @Sendable (Sample) -> [String]) async throws
        -> Set<String>
    {
        var selectors = try p.all("match[]").map { try Parser.parseSelector($0) }
        if selectors.isEmpty { selectors = [[]] }
        let time = try metadataTime(p)
        return try await deadline { [source, limits, selectors] in
            var out = Set<String>()
            for selector in selectors {
                for part in source.coveringSelectors(selector) {
                    for s in try await Evaluator(source: source, limits: limits).select(part, at: time) {
                        out.formUnion(strings(s))
                    }
                }
            }
            return out
        }
    }

    /// When the metadata endpoints look: at `end` (now when absent or later than now). `start` is checked, as
    /// Prometheus checks it, though the series are those at `end`.
    private func metadataTime(_ p: RequestParameters) throws(APIError) -> EvaluationTime {
        let start = try p.time("start")
        let end = try p.time("end")
        if let start, let end, end < start {
            throw APIError.badRequest("end timestamp must not be before start time", parameter: "end")
        }
        let now = clock.nowMs()
        return end.flatMap { $0 < now ? .at($0) : nil } ?? .now(now)
    }

    private func series(_ p: RequestParameters) async throws -> Response {
        let sets = Set(try await selected(p, required: true).map(\.labels))
        return try Self.success(sets.sorted().map(\.dictionary))
    }

    static func success(_ data: Any) throws -> Response {
        try PromJSON.response(.ok, ["status": "success", "data": data])
    }

    /// A success whose `data` is already JSON.
    static func success(json data: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"status":"success","data":"# + data + "}")))
    }
}

/// JSON in Prometheus's shapes (heterogeneous arrays such as `[1700000000.123, "0.5"]`).
enum PromJSON {
    static func response(_ status: HTTPResponse.Status, _ object: [String: Any]) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Range queries being evaluated.
final class RangesInFlight: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts one more; true when it is the only one.
    func enter() -> Bool { count.add(1, ordering: .relaxed).newValue == 1 }

    /// Counts one less.
    func leave() { count.subtract(1, ordering: .relaxed) }
}
