import Collector
import Foundation
import Hummingbird
import PromQL

/// The Prometheus-compatible HTTP API (SPEC §7) so Grafana's Prometheus data source and `promtool query`
/// can use Opsight: same parameters (GET or form-encoded POST), same response and error shapes.
public struct PromAPIController<Context: RequestContext>: Sendable {
    private let source: any SampleSource
    private let tokens: AccessTokens
    private let now: @Sendable () -> Int64
    /// Prometheus refuses range queries with more points than this per series.
    static var maxPoints: Int { 11_000 }

    /// Creates the controller.
    public init(source: any SampleSource, tokens: AccessTokens, now: @escaping @Sendable () -> Int64) {
        self.source = source
        self.tokens = tokens
        self.now = now
    }

    /// Adds the routes to `router`.
    public func register(on router: Router<Context>) {
        for path in ["/api/v1/query", "/api/v1/query_range", "/api/v1/labels", "/api/v1/series"] {
            router.get(RouterPath(path)) { request, _ in try await self.handle(path, request, name: nil) }
            router.post(RouterPath(path)) { request, _ in try await self.handle(path, request, name: nil) }
        }
        router.get("/api/v1/label/:name/values") { request, context in
            try await self.handle("values", request, name: context.parameters.get("name"))
        }
    }

    private func handle(_ path: String, _ request: Request, name: String?) async throws -> Response {
        do {
            try tokens.authorize(request, scope: "read")
        } catch {
            return try Self.failure(
                error.status, type: error.status == .forbidden ? "forbidden" : "unauthorized", error.message)
        }
        let params: PromParameters
        do { params = try await PromParameters(request) } catch {
            return try Self.failure(.badRequest, type: "bad_data", "\(error)")
        }
        do {
            switch path {
            case "/api/v1/query": return try await query(params)
            case "/api/v1/query_range": return try await queryRange(params)
            case "/api/v1/labels": return try await labels(params)
            case "/api/v1/series": return try await series(params)
            default: return try await labelValues(params, name: name ?? "")
            }
        } catch let error as PromAPIFailure {
            return try Self.failure(.badRequest, type: "bad_data", error.message)
        } catch let error as PromQLError {
            let type = error.code == .execution ? "execution" : "bad_data"
            return try Self.failure(
                error.code == .execution ? .unprocessableContent : .badRequest, type: type, "\(error)")
        } catch let error as CollectorError {
            return try Self.failure(.serviceUnavailable, type: "unavailable", error.message)
        }
    }

    private func query(_ p: PromParameters) async throws -> Response {
        let text = try p.required("query")
        let given = try p.time("time")
        let time = given ?? now()
        let expr = try Parser.parse(text)
        let value = try await EvaluationTime.$current.withValue(given == nil ? time : nil) {
            try await Evaluator(source: source).evaluate(expr, at: time)
        }
        return Self.success(json: PrometheusJSON.instant(value, at: time))
    }

    private func queryRange(_ p: PromParameters) async throws -> Response {
        let text = try p.required("query")
        guard let start = try p.time("start"), let end = try p.time("end") else {
            throw PromAPIFailure("start and end are required (unix seconds or RFC 3339)")
        }
        let step = try p.step()
        guard end >= start else { throw PromAPIFailure("end timestamp must not be before start time") }
        guard (end - start) / step < Int64(Self.maxPoints) else {
            throw PromAPIFailure(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
            )
        }
        let series = try await Evaluator(source: source).evaluateRange(
            Parser.parse(text), start: start, end: end, step: step)
        return Self.success(json: PrometheusJSON.matrix(series))
    }

    private func selected(_ p: PromParameters, required: Bool) async throws -> [Sample] {
        let selectors = p.all("match[]")
        if required && selectors.isEmpty { throw PromAPIFailure("no match[] parameter provided") }
        let time = try p.time("end") ?? now()
        if selectors.isEmpty { return try await source.select([], at: time) }
        var out = Set<Sample>()
        for s in selectors { out.formUnion(try await source.select(try Parser.parseSelector(s), at: time)) }
        return Array(out)
    }

    private func labels(_ p: PromParameters) async throws -> Response {
        let names = Set(try await selected(p, required: false).flatMap { $0.labels.pairs.map(\.name) })
        return try Self.success(names.sorted())
    }

    private func labelValues(_ p: PromParameters, name: String) async throws -> Response {
        let values = Set(try await selected(p, required: false).compactMap { $0.labels[name] })
        return try Self.success(values.sorted())
    }

    private func series(_ p: PromParameters) async throws -> Response {
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

    static func failure(_ status: HTTPResponse.Status, type: String, _ message: String) throws -> Response {
        try PromJSON.response(status, ["status": "error", "errorType": type, "error": message])
    }
}

/// A bad request to the Prometheus API, answered as `bad_data`.
struct PromAPIFailure: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
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
