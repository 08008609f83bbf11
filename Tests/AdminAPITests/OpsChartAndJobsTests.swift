import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import OpsightMetrics
import Testing

@testable import AdminAPI
@testable import Collector
import HTTPLayer
import OpsightTestSupport
import QueryModel

/// `/api/v1/jobs`, `/api/v1/timeseries` and `/api/v1/status` against an exact oracle over the same events.
@Suite struct OpsChartAndJobsTests {
    static let tokens = AccessTokens([.init(name: "ops", secret: "s", scopes: ["ingest", "read"])])
    static let auth: HTTPFields = [.authorization: "Bearer s"]

    /// The exact sample quantile at rank ⌊q·(n−1)⌋.
    static func exact(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        return values.sorted()[Int((q * Double(values.count - 1)).rounded(.down))]
    }

    static func close(_ got: Any?, _ want: Double?, _ what: String) {
        guard let want else {
            #expect(got is NSNull, "\(what): expected null, got \(String(describing: got))")
            return
        }
        guard let got = got as? Double else {
            Issue.record("\(what): expected \(want), got \(String(describing: got))")
            return
        }
        #expect(abs(got - want) <= 0.01 * abs(want) + 1e-9, "\(what): \(got) vs exact \(want)")
    }

    func withApp(
        events: [Event], _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: .init(), hot: hot, durable: durable, logger: Logger(label: "test"))
        defer { runtime.commitLog.shutdown() }
        let flusher = Flusher(
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status, logger: Logger(label: "test"))
        let router = Router()
        let routes = ScopedRoutes(router: router, tokens: Self.tokens)
        IngestController(pipeline: runtime.pipeline).register(on: routes)
        OpsController(reader: MetricsReader(hot: hot, durable: durable)).register(on: routes)
        StatusController(
            configuration: .init(version: "test", collectorID: runtime.collectorID, windowsMs: [300_000], startedAtMs: 0),
            status: runtime.status, pipeline: runtime.pipeline
        ).register(on: routes)
        try await Application(router: router).test(.router) { client in
            let r = try await client.execute(
                uri: "/v1/ingest", method: .post, headers: Self.auth, body: ByteBuffer(bytes: ndjson(events)))
            #expect(r.status == .ok)
            #expect(await flusher.flushNow())
            try await test(client)
        }
    }

    func get(_ client: any TestClientProtocol, _ uri: String) async throws -> [String: Any] {
        let r = try await client.execute(uri: uri, method: .get, headers: Self.auth)
        #expect(r.status == .ok, "\(uri): \(String(buffer: r.body))")
        return try #require(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])
    }

    /// Ten-second grid times in the last 20 minutes (hot data, so windows are exact on the grid).
    static func setup() -> (events: [Event], gridNow: Int64) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let gridNow = now / 10_000 * 10_000 - 60_000
        var rng = SplitMix64(seed: 42)
        let events = randomEvents(count: 3_000, baseMs: gridNow, spanMs: 1_200_000, rng: &rng)
        return (events, gridNow)
    }

    @Test func jobsMatchTheOracle() async throws {
        let (events, gridNow) = Self.setup()
        try await withApp(events: events) { client in
            let t = gridNow - 120_000
            let body = try await get(client, "/api/v1/jobs?window=15m&time=\(t / 1000)&service=worker&q=0.5,0.99")
            let inWindow = events.filter {
                $0.kind == .job && $0.service == "worker" && $0.timestampMs > t - 900_000 && $0.timestampMs <= t
            }
            let jobs = try #require(body["jobs"] as? [[String: Any]])
            #expect(jobs.count == 1)
            let j = try #require(jobs.first)
            #expect(j["queue"] as? String == "q" && j["job"] as? String == "j")
            for event in JobEventType.allCases {
                #expect(j[event.rawString] as? Int == inWindow.filter { $0.jobEvent == event }.count, "\(event)")
            }
            let succeeded = inWindow.filter { $0.jobEvent == .succeeded }.count
            let failed = inWindow.filter { $0.jobEvent == .failed }.count
            Self.close(j["failure_ratio"], Double(failed) / Double(succeeded + failed), "failure_ratio")
            let durations = inWindow.filter { $0.jobEvent == .succeeded || $0.jobEvent == .failed }.map {
                $0.durationMs! / 1000
            }
            let duration = try #require(j["duration"] as? [String: Any])
            Self.close(duration["0.5"], Self.exact(durations, 0.5), "duration p50")
            Self.close(duration["0.99"], Self.exact(durations, 0.99), "duration p99")
        }
    }

    @Test func timeseriesMatchesTheOracleAtEveryStep() async throws {
        let (events, gridNow) = Self.setup()
        try await withApp(events: events) { client in
            let from = gridNow - 600_000
            let to = gridNow
            let uri = "/api/v1/timeseries?service=api&route=/b/:id&window=5m&from=\(from / 1000)&to=\(to / 1000)&step=30"
            let latency = try await get(client, uri + "&metric=latency&q=0.95")
            let rate = try await get(client, uri + "&metric=request_rate")
            let errors = try await get(client, uri + "&metric=error_ratio")
            func points(_ body: [String: Any]) throws -> [[Any]] {
                let series = try #require(body["series"] as? [[String: Any]])
                #expect(series.count == 1)
                return try #require(series.first?["points"] as? [[Any]])
            }
            let (lp, rp, ep) = (try points(latency), try points(rate), try points(errors))
            #expect(lp.count == 21 && rp.count == 21 && ep.count == 21)
            for i in 0..<min(lp.count, rp.count, ep.count) {
                let t = from + Int64(i) * 30_000
                #expect((lp[i][0] as? Double).map { Int64($0 * 1000) } == t)
                let window = events.filter {
                    $0.kind == .request && $0.service == "api" && $0.route == "/b/:id"
                        && $0.timestampMs > t - 300_000 && $0.timestampMs <= t
                }
                Self.close(lp[i][1], Self.exact(window.map { $0.durationMs! / 1000 }, 0.95), "p95 at \(t)")
                Self.close(rp[i][1], Double(window.count) / 300, "rate at \(t)")
                Self.close(
                    ep[i][1], window.isEmpty ? nil : Double(window.filter { $0.status! >= 500 }.count) / Double(window.count),
                    "error ratio at \(t)")
            }
        }
    }

    @Test func badChartParametersAreNamed() async throws {
        try await withApp(events: []) { client in
            for (uri, parameter) in [
                ("/api/v1/timeseries?service=a&metric=nope", "metric"),
                ("/api/v1/timeseries?metric=latency", "service"),
                ("/api/v1/timeseries?service=a&metric=latency&from=10&to=5", "from"),
                ("/api/v1/timeseries?service=a&metric=latency&from=0&to=100000&step=1", "step"),
                ("/api/v1/timeseries?service=a&metric=latency&step=-3", "step"),
                ("/api/v1/timeseries?service=a&metric=latency&to=soon", "to"),
            ] {
                let r = try await client.execute(uri: uri, method: .get, headers: Self.auth)
                #expect(r.status == .badRequest, "\(uri)")
                let json = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
                let details = (json?["error"] as? [String: Any])?["details"] as? [String: Any]
                #expect(details?["parameter"] as? String == parameter, "\(uri): \(String(buffer: r.body))")
            }
        }
    }

    @Test func statusReportsTheIngestCounters() async throws {
        let (events, _) = Self.setup()
        try await withApp(events: Array(events.prefix(100))) { client in
            let body = try await get(client, "/api/v1/status")
            #expect((body["ingest"] as? [String: Any])?["accepted_events"] as? Int == 100)
            #expect((body["stores"] as? [String: Any]).flatMap { $0["redis"] as? [String: Any] }?["up"] as? Bool == true)
            #expect(body["windows"] as? [String] == ["5m"])
            #expect((body["wal"] as? [String: Any])?["full"] as? Bool == false)
        }
    }
}
