import PostgresURL
import Collector
import Foundation
import Logging
import OpsightMetrics
import PostgresNIO
import Storage
import Testing

private let env = ProcessInfo.processInfo.environment
private let storesAvailable = env["OPSIGHT_TEST_REDIS_URL"] != nil && env["OPSIGHT_TEST_DATABASE_URL"] != nil

/// The same contract checked against Redis, PostgreSQL and the in-memory store: a store sums exactly what it
/// was given, per bucket, and records the position of the last commit.
@Suite(.enabled(if: storesAvailable, "needs OPSIGHT_TEST_REDIS_URL and OPSIGHT_TEST_DATABASE_URL (make test sets them)"))
struct MetricsStoreContractTests {
    enum Kind: String, CaseIterable { case redis, postgres, memory }

    /// Runs `body` with a fresh store of `kind` (its own key prefix or schema), cleaning up after.
    func withStore(_ kind: Kind, _ body: (any MetricsStore) async throws -> Void) async throws {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let logger = Logger(label: "test")
        switch kind {
        case .memory:
            try await body(InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs))
        case .redis:
            let client = RedisClient(url: try RedisURL(env["OPSIGHT_TEST_REDIS_URL"]!))
            defer { client.shutdown() }
            try await body(RedisHotStore(client: client, configuration: .init(keyPrefix: "test_\(suffix)")))
        case .postgres:
            let url = try PostgresURL(env["OPSIGHT_TEST_DATABASE_URL"]!)
            let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                let schema = "test_\(suffix)"
                try await Migrations.migrate(client: client, schema: schema, logger: logger)
                do {
                    try await body(PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger))
                } catch {
                    try? await client.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE")
                    throw error
                }
                try await client.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE")
                group.cancelAll()
            }
        }
    }

    func events(seed: UInt64) -> [Event] {
        var rng = SplitMix64(seed: seed)
        var out: [Event] = []
        for i in 0..<3_000 {
            // Recent: Redis drops buckets older than its retention as soon as their EXPIREAT passes.
            let ts = Int64(Date().timeIntervalSince1970 * 1000) - Int64.random(in: 0..<1_800_000, using: &rng)
            let service = ["api", "worker", "web}x"].randomElement(using: &rng)!
            switch i % 5 {
            case 0, 1, 2:
                var e = Event(timestampMs: ts, service: service, kind: .request)
                e.route = ["/a", "/b/:id", "/ü n"].randomElement(using: &rng)!
                e.method = "GET"
                e.status = [200, 404, 500].randomElement(using: &rng)!
                e.durationMs = Bool.random(using: &rng) ? 0 : exp(Double.random(in: -3...9, using: &rng))
                out.append(e)
            case 3:
                var e = Event(timestampMs: ts, service: service, kind: .job)
                e.queue = "q"
                e.job = "ai"
                e.jobID = "\(i % 40)"
                e.jobEvent = JobEventType.allCases.randomElement(using: &rng)!
                e.durationMs = Double.random(in: 0...1000, using: &rng)
                out.append(e)
            default:
                var e = Event(timestampMs: ts, service: service, kind: .log)
                e.level = LogLevel.allCases.randomElement(using: &rng)!
                out.append(e)
            }
        }
        return out
    }

    @Test(arguments: Kind.allCases)
    func commitsSumExactlyAndRecordThePosition(kind: Kind) async throws {
        try await withStore(kind) { store in
            let all = events(seed: 11)
            let firstHalf = Array(all.prefix(1_400))
            let secondHalf = Array(all.dropFirst(1_400))
            let pick: (BatchAggregate) -> Delta = { store.bucketWidthMs == TimeBucket.hotWidthMs ? $0.hot : $0.durable }
            #expect(try await store.committedPosition(collector: "c1") == 0)
            try await store.commit(pick(BatchAggregate(events: firstHalf, rules: .init())), position: 10, collector: "c1")
            try await store.commit(pick(BatchAggregate(events: secondHalf, rules: .init())), position: 25, collector: "c1")
            #expect(try await store.committedPosition(collector: "c1") == 25)
            #expect(try await store.committedPosition(collector: "other") == 0)

            var whole = pick(BatchAggregate(events: all, rules: .init()))
            // The store pairs the job facts into queue wait (checked against SPEC §3 in QueueWaitPairingTests).
            whole.addWaits(QueueWaitPairing.changes(of: whole.jobFacts) { _ in [] }, widthMs: store.bucketWidthMs)
            let buckets = whole.requests.keys.map(\.bucket) + whole.jobs.keys.map(\.bucket) + whole.logs.keys.map(\.bucket)
            let range = buckets.min()!...buckets.max()!
            var expected = WindowData()
            expected.merge(whole)
            #expect(try await store.read(service: nil, buckets: range) == expected)
            // Compacting part of the range merges rows but changes no figure.
            try await store.compact(buckets: range.lowerBound...(range.lowerBound + (range.upperBound - range.lowerBound) / 2))
            #expect(try await store.read(service: nil, buckets: range) == expected)

            // A sub-range and one service: only their cells.
            let sub = (range.lowerBound + 3)...(range.upperBound - 5)
            var filtered = Delta()
            filtered.requests = whole.requests.filter { sub.contains($0.key.bucket) && $0.key.key.service == "web}x" }
            filtered.jobs = whole.jobs.filter { sub.contains($0.key.bucket) && $0.key.key.service == "web}x" }
            filtered.logs = whole.logs.filter { sub.contains($0.key.bucket) && $0.key.key == "web}x" }
            var expectedSub = WindowData()
            expectedSub.merge(filtered)
            #expect(try await store.read(service: "web}x", buckets: sub) == expectedSub)
            #expect(try await store.services() == ["api", "web}x", "worker"])
            // Each bucket read on its own, all at once: what a read of that one bucket holds.
            for service in [nil, "web}x", "none"] as [String?] {
                var each: [Int64: WindowData] = [:]
                for b in range {
                    let d = try await store.read(service: service, buckets: b...b)
                    if !d.requests.isEmpty || !d.jobs.isEmpty || !d.logs.isEmpty { each[b] = d }
                }
                #expect(try await store.readEach(service: service, buckets: range) == each, "\(service ?? "all")")
                #expect(service == "none" || each.count > 10)
            }
            try await store.ping()
        }
    }

    /// Funnel step records are a set: committing some twice (a replay, two collectors) keeps one of each, a
    /// range read returns exactly those in `(after, through]`, and funnels do not mix.
    @Test(arguments: Kind.allCases)
    func funnelStepRecordsAreAnIdempotentSetReadByTime(kind: Kind) async throws {
        try await withStore(kind) { store in
            let steps = try #require(store as? any FunnelStepStore)
            var rng = SplitMix64(seed: 5)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var all = Set<FunnelStepRecord>()
            for _ in 0..<2_000 {
                all.insert(
                    FunnelStepRecord(
                        funnel: ["journey", "signup"].randomElement(using: &rng)!, step: Int.random(in: 0..<4, using: &rng),
                        entity: ["user-\(Int.random(in: 0..<300, using: &rng))", "ü\u{1f}x", "42"].randomElement(using: &rng)!,
                        timestampMs: now - Int64.random(in: 0..<1_800_000, using: &rng)))
            }
            let list = Array(all)
            var first = Delta()
            first.funnelSteps = Set(list.prefix(1_200))
            var second = Delta()
            second.funnelSteps = Set(list.suffix(1_200))  // 400 records again
            try await store.commit(first, position: 1, collector: "a")
            try await store.commit(second, position: 1, collector: "b")
            try await store.commit(first, position: 2, collector: "a")
            for (after, through) in [(now - 1_800_001, now), (now - 600_000, now - 60_000)] {
                let got = try await steps.funnelSteps(funnel: "journey", afterMs: after, throughMs: through)
                let want = all.filter { $0.funnel == "journey" && $0.timestampMs > after && $0.timestampMs <= through }
                #expect(got.count == want.count, "no duplicates")
                #expect(Set(got) == want)
            }
            // The bounds: exclusive below, inclusive above.
            let one = try #require(list.first)
            let exact = try await steps.funnelSteps(funnel: one.funnel, afterMs: one.timestampMs - 1, throughMs: one.timestampMs)
            #expect(exact.contains(one))
            let before = try await steps.funnelSteps(funnel: one.funnel, afterMs: one.timestampMs, throughMs: one.timestampMs + 1)
            #expect(!before.contains(one))
        }
    }
}
