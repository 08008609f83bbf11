import Collector
import Foundation
import Logging
import OpsightMetrics
import PromQL
import QueryModel
import Storage
import Synchronization
import Testing

private let env = ProcessInfo.processInfo.environment

/// The change feed of the Redis hot store (`P:changes`) and the window cache over it, against the real Redis.
@Suite(.enabled(if: env["OPSIGHT_TEST_REDIS_URL"] != nil, "needs OPSIGHT_TEST_REDIS_URL (make test sets it)"))
struct RedisChangeFeedTests {
    func withStore(_ body: (RedisHotStore, RedisClient, String) async throws -> Void) async throws {
        let client = RedisClient(url: try RedisURL(env["OPSIGHT_TEST_REDIS_URL"]!))
        defer { client.shutdown() }
        let prefix = "test_\(UUID().uuidString.prefix(8).lowercased())"
        try await body(RedisHotStore(client: client, configuration: .init(keyPrefix: prefix)), client, prefix)
    }

    /// Random events of the last hour (and a little ahead), services with awkward names included.
    func events(_ rng: inout SplitMix64, count: Int, spanMs: Int64 = 3_500_000) -> [Event] {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return (0..<count).map { i in
            let ts = now + 5_000 - Int64.random(in: 0..<spanMs, using: &rng)
            let service = ["api", "worker", "web}x", "ü svc"].randomElement(using: &rng)!
            switch i % 4 {
            case 0, 1:
                var e = Event(timestampMs: ts, service: service, kind: .request)
                e.route = ["/a", "/b/:id", "/ü n"].randomElement(using: &rng)!
                e.method = ["GET", "POST"].randomElement(using: &rng)!
                e.status = [200, 404, 500].randomElement(using: &rng)!
                e.durationMs = Bool.random(using: &rng) ? 0 : exp(Double.random(in: -3...9, using: &rng))
                return e
            case 2:
                var e = Event(timestampMs: ts, service: service, kind: .job)
                e.queue = "q"
                e.job = "ai"
                e.jobID = "\(i % 40)"
                e.jobEvent = JobEventType.allCases.randomElement(using: &rng)!
                e.durationMs = Double.random(in: 0...1000, using: &rng)
                return e
            default:
                var e = Event(timestampMs: ts, service: service, kind: .log)
                e.level = LogLevel.allCases.randomElement(using: &rng)!
                return e
            }
        }
    }

    @Test func aPollReturnsEveryCommitInOrderAndBucketsAsOfTheLastOne() async throws {
        try await withStore { store, _, _ in
            var rng = SplitMix64(seed: 21)
            let start = try await store.poll(after: nil, buckets: [])
            #expect(start.changes.isEmpty && !start.gap)
            // The same commits to the in-memory store tell what each change holds, queue waits paired included.
            let shadow = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
            let shadowStart = try await shadow.poll(after: nil, buckets: [])
            var deltas: [Delta] = []
            for i in 0..<5 {
                let delta = BatchAggregate(events: events(&rng, count: 300), rules: .init()).hot
                try await store.commit(delta, position: UInt64(i + 1), collector: "c")
                try await shadow.commit(delta, position: UInt64(i + 1), collector: "c")
                deltas.append(delta)
            }
            let expected = try await shadow.poll(after: shadowStart.cursor, buckets: []).changes
            let buckets = Array(Set(deltas.flatMap { $0.requests.keys.map(\.bucket) }).sorted().prefix(40))
            let p = try await store.poll(after: start.cursor, buckets: buckets)
            #expect(!p.gap)
            #expect(p.cursor.sequence == start.cursor.sequence + 5)
            #expect(p.changes.count == 5)
            #expect(expected.count == 5)
            for (change, want) in zip(p.changes, expected) { #expect(change == want) }
            for b in buckets {
                #expect(
                    p.buckets[b] ?? WindowData() == (try await store.read(service: nil, buckets: b...b)), "bucket \(b)")
            }
            let again = try await store.poll(after: p.cursor, buckets: [])
            #expect(again.changes.isEmpty && !again.gap && again.cursor == p.cursor)
        }
    }

    /// The window cache of the committing process takes that collector's commits from memory (``OwnChanges``): the
    /// cells it gets equal the records decoded by a reader elsewhere, queue waits paired in the commit included,
    /// whether every commit was kept or the older ones were let go for the byte cap.
    @Test(arguments: [24 << 20, 250_000])
    func ownCommitsTakenFromMemoryEqualTheirRecords(maxBytes: Int) async throws {
        try await withStore { _, client, prefix in
            let own = OwnChanges(maxBytes: maxBytes)
            var configuration = RedisHotStore.Configuration(keyPrefix: prefix)
            configuration.ownChanges = own
            let writer = RedisHotStore(client: client, configuration: configuration)
            let reader = RedisHotStore(client: client, configuration: configuration)
            let elsewhere = RedisHotStore(client: client, configuration: .init(keyPrefix: prefix))
            let start = try await reader.poll(after: nil, buckets: [])
            var rng = SplitMix64(seed: 5)
            for i in 0..<5 {
                let delta = BatchAggregate(events: events(&rng, count: 300), rules: .init()).hot
                try await writer.commit(delta, position: UInt64(i + 1), collector: "c")
            }
            if maxBytes > 1 << 20 {
                #expect(own.count == 5)
            } else {
                #expect((1..<5).contains(own.count), "the older commits were let go: \(own.count) kept")
            }
            let kept = own.count
            _ = try await reader.poll(after: nil, buckets: [])
            #expect(own.count == kept, "a poll without a cursor leaves them to the cache")
            let decoded = try await elsewhere.poll(after: start.cursor, buckets: [])
            let mine = try await reader.poll(after: start.cursor, buckets: [])
            #expect(own.count == 0, "a poll takes what it read")
            #expect(mine.changes.count == 5 && decoded.changes.count == 5)
            for (change, want) in zip(mine.changes, decoded.changes) { #expect(change == want) }
            let waits = decoded.changes.flatMap { $0.byBucket.values.flatMap { $0.jobs.values.map(\.wait.count) } }
            #expect(waits.contains { $0 > 0 }, "some commit paired queue waits")
        }
    }

    @Test func changesTrimmedBeforeTheyWereReadShowAsAGap() async throws {
        try await withStore { store, client, prefix in
            var rng = SplitMix64(seed: 22)
            try await store.commit(
                BatchAggregate(events: events(&rng, count: 50), rules: .init()).hot, position: 1, collector: "c")
            let cursor = try await store.poll(after: nil, buckets: []).cursor
            try await store.commit(
                BatchAggregate(events: events(&rng, count: 50), rules: .init()).hot, position: 2, collector: "c")
            try await store.commit(
                BatchAggregate(events: events(&rng, count: 50), rules: .init()).hot, position: 3, collector: "c")
            _ = try await client.command("XTRIM", .string("\(prefix):changes"), .string("MAXLEN"), .int(1))
            #expect(try await store.poll(after: cursor, buckets: []).gap)
            _ = try await client.command("DEL", .string("\(prefix):changes"), .string("\(prefix):changes:count"))
            #expect(try await store.poll(after: cursor, buckets: []).gap)
        }
    }

    /// The cache over real Redis equals a full read of the same buckets after every round of random commits.
    @Test func theWindowCacheEqualsAFullReadOfRedis() async throws {
        try await withStore { store, _, _ in
            var rng = SplitMix64(seed: 23)
            try await store.commit(
                BatchAggregate(events: events(&rng, count: 2_000), rules: .init()).hot, position: 1, collector: "c")
            let cache = WindowCache(
                configuration: .init(windowsMs: [60_000, 300_000, 3_600_000]), feed: store,
                logger: Logger(label: "test"),
                now: { Int64(Date().timeIntervalSince1970 * 1000) })
            for round in 0..<6 {
                let late = round % 2 == 0
                let batch = events(&rng, count: 300, spanMs: late ? 3_500_000 : 20_000)
                try await store.commit(
                    BatchAggregate(events: batch, rules: .init()).hot, position: UInt64(round + 2), collector: "c")
                for w: Int64 in [60_000, 300_000, 3_600_000] {
                    let cached = try #require(try await cache.window(windowMs: w))
                    let k = TimeBucket.index(ofMs: cached.timeMs, widthMs: TimeBucket.hotWidthMs)
                    let full = try await store.read(service: nil, buckets: (k - w / 10_000 + 1)...k)
                    #expect(cached.data == full, "round \(round) window \(w)")
                }
            }
            #expect(await cache.rebuilds == 1)
        }
    }

    /// The running totals the hot cache keeps equal a read of `P:{S}:totals` after every round: commits from two
    /// collectors through their own connections, events older than the hot buckets keep (their buckets expire at
    /// once, the totals still count them), a service that appears later, and a trimmed feed (a gap: read again).
    /// The version stays while nothing is committed, so a render of the counters can be kept.
    @Test func theCachedTotalsEqualAReadOfRedisTotals() async throws {
        try await withStore { store, client, prefix in
            let second = RedisClient(url: try RedisURL(env["OPSIGHT_TEST_REDIS_URL"]!))
            defer { second.shutdown() }
            let other = RedisHotStore(client: second, configuration: .init(keyPrefix: prefix))
            var rng = SplitMix64(seed: 24)
            try await store.commit(
                BatchAggregate(events: events(&rng, count: 1_000), rules: .init()).hot, position: 1, collector: "c")
            var configuration = WindowCache.Configuration(windowsMs: [60_000, 3_600_000])
            configuration.keepsTotals = true
            let cache = WindowCache(
                configuration: configuration, feed: store, logger: Logger(label: "test"),
                now: { Int64(Date().timeIntervalSince1970 * 1000) })
            var last = try #require(try await cache.totals())
            #expect(last.data == (try await store.totals()))
            #expect(!last.data.requests.isEmpty && !last.data.jobs.isEmpty && !last.data.logs.isEmpty)
            for round in 0..<8 {
                var batch = events(&rng, count: 300, spanMs: round % 3 == 0 ? 3 * 3_600_000 : 60_000)
                if round == 4 {
                    var e = Event(
                        timestampMs: Int64(Date().timeIntervalSince1970 * 1000), service: "new svc", kind: .request)
                    e.route = "/n"
                    e.method = "GET"
                    e.status = 503
                    e.durationMs = 1
                    batch.append(e)
                }
                let (writer, id) = round % 2 == 0 ? (store, "c") : (other, "d")
                try await writer.commit(
                    BatchAggregate(events: batch, rules: .init()).hot, position: UInt64(round + 2), collector: id)
                if round == 6 {
                    // Changes trimmed before the cache read them: it must read the totals again, not miss them.
                    _ = try await client.command("XTRIM", .string("\(prefix):changes"), .string("MAXLEN"), .int(0))
                }
                let kept = try #require(try await cache.totals())
                #expect(kept.data == (try await store.totals()), "round \(round)")
                #expect(kept.version != last.version, "round \(round): a commit changes the version")
                let again = try #require(try await cache.totals())
                #expect(again.version == kept.version, "round \(round): no commit, same version")
                last = kept
            }
            #expect(last.data.requests.keys.contains { $0.service == "new svc" })
            #expect(await cache.rebuilds == 2, "the first read and the trimmed feed")
        }
    }

    /// `readEach` (one pipeline for a chart's buckets) holds, bucket by bucket, what a read of that one bucket holds:
    /// all services, services whose names need care in a key, a service with no data.
    @Test func readEachEqualsOneReadPerBucket() async throws {
        try await withStore { store, _, _ in
            var rng = SplitMix64(seed: 25)
            try await store.commit(
                BatchAggregate(events: events(&rng, count: 2_000), rules: .init()).hot, position: 1, collector: "c")
            let k = TimeBucket.index(ofMs: Int64(Date().timeIntervalSince1970 * 1000), widthMs: TimeBucket.hotWidthMs)
            let range = (k - 360)...(k + 1)
            for service in [nil, "web}x", "ü svc", "missing"] as [String?] {
                let each = try await store.readEach(service: service, buckets: range)
                var expected: [Int64: WindowData] = [:]
                for b in range {
                    let d = try await store.read(service: service, buckets: b...b)
                    if !d.requests.isEmpty || !d.jobs.isEmpty || !d.logs.isEmpty { expected[b] = d }
                }
                #expect(each == expected, "service \(service ?? "all")")
                #expect(service == "missing" || expected.count > 100, "service \(service ?? "all") has buckets")
            }
        }
    }

    /// A feed that commits a batch just before the totals are read (when told to): a commit landing between a poll and
    /// the read of the totals, whose change the next poll returns although the totals hold it already.
    final class CommitBeforeTotals: ChangeFeed, @unchecked Sendable {
        let store: RedisHotStore
        let lock = NSLock()
        var pending: Delta?
        var position: UInt64 = 1_000
        init(_ store: RedisHotStore) { self.store = store }

        func poll(after cursor: FeedCursor?, buckets: [Int64]) async throws -> FeedPoll {
            try await store.poll(after: cursor, buckets: buckets)
        }
        func sums(over ranges: [ClosedRange<Int64>]) async throws -> (cursor: FeedCursor, sums: [WindowData]) {
            try await store.sums(over: ranges)
        }
        func sumsAndTotals(over ranges: [ClosedRange<Int64>]) async throws -> (
            cursor: FeedCursor, sums: [WindowData], totals: WindowData?
        ) {
            let batch: (Delta, UInt64)? = lock.withLock {
                defer { pending = nil }
                position += 1
                return pending.map { ($0, position) }
            }
            if let (delta, position) = batch { try await store.commit(delta, position: position, collector: "late") }
            return try await store.sumsAndTotals(over: ranges)
        }
    }

    /// The totals are followed only while read: after a pause they are let go, commits go by unfollowed, and the next
    /// read takes them again, exactly, also when a commit lands between the poll and that read (its change is then
    /// skipped by its sequence, not counted twice).
    @Test func theTotalsAreLetGoWhenNotReadAndTakenAgainExactly() async throws {
        try await withStore { store, _, _ in
            var rng = SplitMix64(seed: 26)
            try await store.commit(
                BatchAggregate(events: events(&rng, count: 500), rules: .init()).hot, position: 1, collector: "c")
            let feed = CommitBeforeTotals(store)
            let offset = Mutex<Int64>(0)
            var configuration = WindowCache.Configuration(windowsMs: [60_000, 3_600_000])
            configuration.keepsTotals = true
            configuration.totalsIdle = .seconds(60)
            let cache = WindowCache(
                configuration: configuration, feed: feed, logger: Logger(label: "test"),
                now: { Int64(Date().timeIntervalSince1970 * 1000) + offset.withLock { $0 } })
            let first = try #require(try await cache.totals())
            #expect(first.data == (try await store.totals()))
            var position: UInt64 = 2
            func commit(_ n: Int) async throws {
                try await store.commit(
                    BatchAggregate(events: events(&rng, count: n, spanMs: 60_000), rules: .init()).hot,
                    position: position, collector: "c")
                position += 1
            }
            try await commit(200)
            #expect(try #require(try await cache.totals()).data == (try await store.totals()))
            // A pause longer than totalsIdle: the next poll lets them go; commits pass unfollowed.
            offset.withLock { $0 += 70_000 }
            try await cache.refresh()
            try await commit(200)
            try await cache.refresh()
            try await commit(200)
            // Read again, with a commit landing between the poll and the read of the totals.
            feed.lock.withLock {
                feed.pending = BatchAggregate(events: self.events(&rng, count: 300, spanMs: 60_000), rules: .init()).hot
            }
            let again = try #require(try await cache.totals())
            #expect(again.data == (try await store.totals()), "taken again after the pause")
            #expect(feed.lock.withLock { feed.pending == nil }, "the commit between the poll and the read happened")
            try await commit(100)
            let after = try #require(try await cache.totals())
            #expect(after.data == (try await store.totals()), "the change already in the totals is not counted twice")
            #expect(await cache.rebuilds == 1, "taken again without rebuilding the windows")
        }
    }
}

/// Range queries of the service and job families through the hot store's buckets reduced to what those are made of
/// and kept from one query to the next (the console's and Grafana's service and job charts), against real Redis.
@Suite(.enabled(if: env["OPSIGHT_TEST_REDIS_URL"] != nil, "needs OPSIGHT_TEST_REDIS_URL (make test sets it)"))
struct KeptServiceSumsRedisTests {
    /// A source that evaluates every step on its own, over a reader without caches: the oracle.
    struct StepByStep: SampleSource {
        let base: MetricFamilies
        func select(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> [Sample] {
            try await base.select(matchers, at: time)
        }
    }

    /// Equal series, a NaN (a ratio of nothing to nothing) equal to a NaN.
    static func same(_ a: [Series], _ b: [Series]) -> Bool {
        a.count == b.count
            && zip(a, b).allSatisfy { x, y in
                x.labels == y.labels && x.points.count == y.points.count
                    && zip(x.points, y.points).allSatisfy { p, q in
                        p.timestamp == q.timestamp && (p.value == q.value || (p.value.isNaN && q.value.isNaN))
                    }
            }
    }

    /// Queries one after another, as a dashboard refreshes; between them late events from two collectors land in the
    /// buckets the last one read, and once Redis loses everything (a restart without persistence: the feed starts
    /// over, so nothing kept may be used). Every query equals its steps evaluated one by one over direct reads.
    @Test func serviceChartsKeptAcrossQueriesEqualTheirStepsReadDirectly() async throws {
        try await RedisChangeFeedTests().withStore { store, client, prefix in
            let second = RedisClient(url: try RedisURL(env["OPSIGHT_TEST_REDIS_URL"]!))
            defer { second.shutdown() }
            let other = RedisHotStore(client: second, configuration: .init(keyPrefix: prefix))
            let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
            var rng = SplitMix64(seed: 26)
            try await store.commit(
                BatchAggregate(events: RedisChangeFeedTests().events(&rng, count: 3_000), rules: .init()).hot,
                position: 1, collector: "c")
            var windows = WindowCache.Configuration(windowsMs: [60_000, 300_000, 3_600_000])
            windows.bucketTracking = .recent
            let cache = WindowCache(
                configuration: windows, feed: store, logger: Logger(label: "test"),
                now: { Int64(Date().timeIntervalSince1970 * 1000) })
            try await cache.refresh()  // as the running service has: kept buckets wait for the cache's first read
            func families(_ reader: MetricsReader) -> MetricFamilies {
                MetricFamilies(
                    configuration: .init(windowsMs: [60_000, 300_000, 3_600_000]), reader: reader, totals: store,
                    selfMetrics: SelfMetrics())
            }
            let kept = families(MetricsReader(hot: store, durable: durable, cache: cache))
            let direct = families(MetricsReader(hot: store, durable: durable))
            let queries = [
                #"opsight_service_request_rate{window="5m"}"#,
                #"max(opsight_service_latency_seconds{window="1m",quantile="0.99"})"#,
                #"opsight_service_error_ratio{window="5m"} / ignoring(window) opsight_service_error_ratio{window="1m"}"#,
                #"max by (service) (opsight_job_failure_ratio{window="5m"})"#,
                #"opsight_job_duration_seconds{window="1m",quantile="0.5"}"#,
                #"opsight_request_latency_seconds{service="web}x",window="5m",quantile="0.99"}"#,
            ].map { try! Parser.parse($0) }
            var position: UInt64 = 1
            for round in 0..<5 {
                // Whole seconds: the steps of both evaluations at the same times.
                let end = Int64(Date().timeIntervalSince1970) * 1000
                for expr in queries {
                    let got = try await Evaluator(source: kept).evaluateRange(
                        expr, start: end - 1_800_000, end: end, step: 15_000)
                    // Commits between the two evaluations would make them differ: none run meanwhile.
                    let want = try await Evaluator(source: StepByStep(base: direct)).evaluateRange(
                        expr, start: end - 1_800_000, end: end, step: 15_000)
                    #expect(!want.isEmpty, "round \(round): \(expr) has data")
                    #expect(Self.same(got, want), "round \(round): \(expr)")
                }
                if round == 2 {
                    // Redis restarts empty: the feed starts over, the kept sums are of a store that is gone.
                    try await wipeRedisKeys(client, prefix: prefix)
                }
                for writer in [store, other] {
                    position += 1
                    let late = RedisChangeFeedTests().events(&rng, count: 200, spanMs: 1_900_000)
                    try await writer.commit(
                        BatchAggregate(events: late, rules: .init()).hot, position: position,
                        collector: "w\(position % 2)")
                }
            }
            #expect(await cache.rebuilds >= 2, "the first read and the emptied store")
        }
    }
}
