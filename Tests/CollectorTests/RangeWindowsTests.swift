import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import PromQL
import Synchronization
import Testing

@testable import Collector
@testable import QueryModel

/// The windows of a range query slid over the hot buckets (``RangeWindows``) against the oracle of one read per step
/// (``MetricsReader/window(service:windowMs:at:)`` at each step's time), and range queries through them against the
/// same query evaluated step by step.
@Suite struct RangeWindowsTests {
    static let now: Int64 = 1_795_000_023_456

    /// A hot store counting the buckets read, and the durable one, holding requests, jobs and log lines of three
    /// services over the last two hours, committed by two collectors in batches out of time order (the last one not
    /// yet in the durable store).
    final class Stores: Sendable {
        let hot = CountingStore(InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs))
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)

        init(seed: UInt64) async throws {
            var rng = SplitMix64(seed: seed)
            for position in 1...6 as ClosedRange<UInt64> {
                // Each batch spread over the two hours (late events beside new ones), a few ahead of now.
                let events = randomEvents(
                    count: 1_500, baseMs: RangeWindowsTests.now + 30_000, spanMs: 7_200_000, rng: &rng)
                let batch = BatchAggregate(events: events, rules: .init())
                let collector = position % 2 == 0 ? "a" : "b"
                try await hot.commit(batch.hot, position: position, collector: collector)
                // The durable store lags: the last batch is in the hot buckets only, so a window's last two minutes
                // must come from them.
                if position < 6 { try await durable.commit(batch.durable, position: position, collector: collector) }
            }
        }

        func reader() -> MetricsReader {
            MetricsReader(hot: hot, durable: durable, clock: WallClock { RangeWindowsTests.now })
        }
    }

    /// A store that counts the buckets ``readEach`` is asked for.
    final class CountingStore: MetricsStore {
        let base: InMemoryMetricsStore
        let bucketsRead = Mutex(0)
        /// The most buckets one `readEach` asked for.
        let largestRead = Mutex(0)
        init(_ base: InMemoryMetricsStore) { self.base = base }

        var bucketWidthMs: Int64 { base.bucketWidthMs }
        var retentionMs: Int64? { base.retentionMs }
        func commit(_ delta: Delta, position: UInt64, collector: String) async throws {
            try await base.commit(delta, position: position, collector: collector)
        }
        func committedPosition(collector: String) async throws -> UInt64 {
            try await base.committedPosition(collector: collector)
        }
        func totals() async throws -> WindowData { try await base.totals() }
        func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData {
            try await base.read(service: service, buckets: buckets)
        }
        func readEach(service: String?, buckets: ClosedRange<Int64>) async throws -> [Int64: WindowData] {
            bucketsRead.withLock { $0 += buckets.count }
            largestRead.withLock { $0 = max($0, buckets.count) }
            // A real store's read suspends the reader (a round trip): another step's read may run meanwhile.
            try await Task.sleep(for: .milliseconds(1))
            return try await base.readEach(service: service, buckets: buckets)
        }
        func services() async throws -> [String] { try await base.services() }
        func ping() async throws {}
    }

    /// Every step slid equals its own read, for windows from one bucket to six hours, steps shorter and longer than
    /// the window and off the 10 s grid, all services or one (or one without data), over a range that starts before
    /// the hot store's oldest bucket (those steps slide over the durable minutes and the last two minutes' hot
    /// buckets, or, for a window that is not whole minutes, are left to a direct read) and ends ahead of now; a step
    /// asked again, and a step back in time, too.
    @Test(arguments: [10_000, 90_000, 300_000, 3_600_000, 7_200_000, 21_600_000] as [Int64])
    func eachStepEqualsItsOwnRead(windowMs: Int64) async throws {
        let stores = try await Stores(seed: UInt64(windowMs))
        let reader = stores.reader()
        let now = Self.now
        for step: Int64 in [7_000, 15_000, 60_000, 700_000] {
            for service in [nil, "api", "none"] as [String?] {
                // Short steps over the last 25 minutes, long ones from 90 minutes back (past the hot buckets).
                let from = now - (step < 60_000 ? 1_500_000 : 5_400_000)
                var times: [Int64] = Array(stride(from: from, through: now + 20_000, by: Int(step)))
                let last: Int64 = times[times.count - 1]
                times += [last, last - 3 * step, now]
                let range = reader.rangeWindows(endMs: now + 20_000, stepMs: step)
                var slid = 0
                for t in times {
                    guard let got = try await range.window(service: service, windowMs: windowMs, at: t) else {
                        // Only steps of a window that is not whole minutes reaching past the hot store's buckets
                        // are not slid (the minutes cannot answer them).
                        #expect(
                            windowMs % 60_000 != 0
                                && TimeBucket.floorDiv(t, 10_000) * 10_000 - windowMs
                                    < now - MetricsReader.Configuration().hotRetentionMs,
                            "window \(windowMs) step \(step) at \(t - now) ms from now was not slid")
                        continue
                    }
                    slid += 1
                    let expected = try await reader.window(service: service, windowMs: windowMs, at: .at(t))
                    #expect(got.timeMs == expected.timeMs)
                    #expect(
                        got.data == expected.data,
                        "window \(windowMs) step \(step) \(service ?? "all") at \(t - now) ms from now")
                }
                #expect(slid >= (step < 700_000 ? 10 : 1), "steps are slid")
            }
        }
    }

    /// The buckets of a range are read once each, not once per step whose window holds them, and in pipelines of at
    /// most ``RangeWindows/Configuration/readChunk`` buckets (an hour's window is not read in one); with steps further
    /// apart than the window, only the windows' buckets.
    @Test func eachBucketIsReadOnce() async throws {
        let stores = try await Stores(seed: 3)
        let reader = stores.reader()
        let start = Self.now - 3_600_000
        let range = reader.rangeWindows(endMs: Self.now, stepMs: 15_000)
        for t in stride(from: start, through: Self.now, by: 15_000) as StrideThrough<Int64> {
            _ = try #require(try await range.window(service: nil, windowMs: 300_000, at: t))
        }
        // The first step's 30 buckets, then the 360 through the last step's.
        let buckets = 300_000 / 10_000 + 3_600_000 / 10_000
        #expect(stores.hot.bucketsRead.withLock { $0 } == buckets)
        #expect(stores.hot.largestRead.withLock { $0 } == 12)
        // An hour's window, in pieces too.
        let hour = reader.rangeWindows(endMs: Self.now, stepMs: 60_000)
        _ = try #require(try await hour.window(service: nil, windowMs: 3_600_000, at: Self.now))
        #expect(stores.hot.largestRead.withLock { $0 } == 12)
        // Steps further apart than the window: each window's buckets and nothing in between or ahead.
        stores.hot.bucketsRead.withLock { $0 = 0 }
        let sparse = reader.rangeWindows(endMs: Self.now, stepMs: 700_000)
        for t in stride(from: start, through: Self.now, by: 700_000) as StrideThrough<Int64> {
            _ = try #require(try await sparse.window(service: nil, windowMs: 300_000, at: t))
        }
        #expect(stores.hot.bucketsRead.withLock { $0 } == 6 * 30)
    }

    /// Two selections of one step asking for the same window at once (the two sides of `a / b`) get the same,
    /// right window, step after step.
    @Test func oneStepAskedTwiceAtOnceIsAnsweredOnce() async throws {
        let stores = try await Stores(seed: 6)
        let reader = stores.reader()
        let range = reader.rangeWindows(endMs: Self.now, stepMs: 15_000)
        for t in stride(from: Self.now - 1_800_000, through: Self.now, by: 15_000) as StrideThrough<Int64> {
            async let a = range.window(service: nil, windowMs: 300_000, at: t)
            async let b = range.window(service: nil, windowMs: 300_000, at: t)
            let (x, y) = try await (a, b)
            let expected = try await reader.window(service: nil, windowMs: 300_000, at: .at(t)).data
            #expect(x?.data == expected, "first at \(t - Self.now) ms")
            #expect(y?.data == expected, "second at \(t - Self.now) ms")
        }
        #expect(stores.hot.bucketsRead.withLock { $0 } == 30 + 180)
    }

    /// A window that would hold more series-buckets than allowed holds none: it reads each bucket again as it leaves
    /// and subtracts it when its total is the one added. Between steps, late events land in buckets about to leave
    /// (what a collector shipping a file of the last hour does): a leaving bucket that changed since it was added
    /// must not be subtracted (its new contents were never added), and the step sums its window afresh. Every step
    /// equals its own read, for windows of one to thirty minutes, steps shorter and longer than a bucket, all
    /// services or one; each bucket is read at most twice, but for the windows summed afresh.
    @Test(arguments: [60_000, 300_000, 1_800_000] as [Int64])
    func aWindowPastTheCellLimitReadsLeavingBucketsAgain(windowMs: Int64) async throws {
        let stores = try await Stores(seed: 4)
        let reader = stores.reader()
        var rng = SplitMix64(seed: UInt64(windowMs))
        var position: UInt64 = 0
        let n = windowMs / 10_000
        for step: Int64 in [7_000, 15_000, 60_000] {
            for service in [nil, "api"] as [String?] {
                let times = Array(stride(from: Self.now - 1_500_000, through: Self.now, by: Int(step)))
                let range = reader.rangeWindows(
                    endMs: Self.now, stepMs: step, configuration: .init(readAhead: 12, maxCells: 50))
                stores.hot.bucketsRead.withLock { $0 = 0 }
                var writes = 0
                for (i, t) in times.enumerated() {
                    let got = try #require(try await range.window(service: service, windowMs: windowMs, at: t))
                    let expected = try await reader.window(service: service, windowMs: windowMs, at: .at(t))
                    #expect(got.data == expected.data, "window \(windowMs) step \(step) at \(t - Self.now) ms")
                    // Late events into a bucket that leaves the window before the next step.
                    guard i + 1 < times.count, Int.random(in: 0..<6, using: &rng) == 0 else { continue }
                    let (k, next) = (TimeBucket.floorDiv(t, 10_000), TimeBucket.floorDiv(times[i + 1], 10_000))
                    guard next > k else { continue }
                    let b = Int64.random(in: (k - n + 1)...min(k, next - n), using: &rng)
                    // Bucket b holds the times in ((b − 1)·10 s, b·10 s].
                    var events = randomEvents(count: 4, baseMs: b * 10_000, spanMs: 10_000, rng: &rng)
                    for j in events.indices { events[j].service = "api" }
                    position += 1
                    try await stores.hot.commit(
                        BatchAggregate(events: events, rules: .init()).hot, position: position, collector: "late")
                    writes += 1
                }
                // Steps as far apart as the window share no bucket: each sums its own, and nothing is subtracted.
                guard step < windowMs else { continue }
                let refreshes = await range.refreshes()
                #expect(writes == 0 || refreshes > 0, "window \(windowMs) step \(step): no step summed afresh")
                #expect(refreshes <= writes)
                // Each bucket read when it enters and again when it leaves, a window read whole where a step summed
                // it afresh; besides, what the window read before it knew it was past the limit (at most its
                // buckets and the read-ahead).
                let ks = times.map { TimeBucket.floorDiv($0, 10_000) }
                let moved = zip(ks, ks.dropFirst()).map { d in d.1 - d.0 < n ? 2 * (d.1 - d.0) : n }.reduce(0, +)
                let bound = Int(n + moved) + refreshes * Int(n) + Int(n) + 12
                #expect(
                    stores.hot.bucketsRead.withLock { $0 } <= bound,
                    "window \(windowMs) step \(step): \(stores.hot.bucketsRead.withLock { $0 }) buckets read")
                #expect(bound - refreshes * Int(n) < times.count * Int(n), "sliding reads fewer than step by step")
            }
        }
    }

    /// A source that evaluates every step on its own (the default ``SampleSource/forRange(start:end:step:)``).
    struct StepByStep: SampleSource {
        let base: MetricFamilies
        func select(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> [Sample] {
            try await base.select(matchers, at: time)
        }
    }

    /// Range queries through the slid windows equal the same queries evaluated one step at a time: selections,
    /// aggregations, matching across two windows, a service filter, a window that is not configured, and a long
    /// window (not slid) beside a short one.
    @Test func aRangeQueryEqualsItsStepsEvaluatedOneByOne() async throws {
        let stores = try await Stores(seed: 5)
        let families = MetricFamilies(
            configuration: .init(windowsMs: [60_000, 300_000, 3_600_000, 7_200_000]), reader: stores.reader(),
            totals: stores.hot, selfMetrics: SelfMetrics(), clock: WallClock { Self.now })
        let queries = [
            #"opsight_request_rate{window="5m"}"#,
            #"opsight_request_latency_seconds{window="1m",route="/a"}"#,
            #"max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})"#,
            #"sum by (service) (opsight_request_rate{window="1m"} * on(service, route, method) opsight_request_error_ratio{window="1h"})"#,
            #"opsight_job_wait_seconds{window="5m",service="worker"}"#,
            #"opsight_service_error_ratio{window="2m"}"#,
            #"opsight_service_request_rate{window="2h"} - ignoring(window) opsight_service_request_rate{window="5m"}"#,
            #"opsight_job_failure_ratio"#,
            // Service families: each service's sum slid (one series a service), short, long and past the hot buckets.
            #"opsight_service_latency_seconds{window="1h"}"#,
            #"max(opsight_service_latency_seconds{window="6h",quantile="0.99"})"#,
            // Both sides of one step read the same window at once.
            #"sum by (service) (opsight_request_rate{window="5m"} * on(service, route, method) opsight_request_error_ratio{window="5m"})"#,
        ]
        for query in queries {
            let expr = try Parser.parse(query)
            for (start, step) in [(Self.now - 5_000_000, Int64(60_000)), (Self.now - 900_000, 15_000)] {
                let slid = try await Evaluator(source: families).evaluateRange(
                    expr, start: start, end: Self.now, step: step)
                let oneByOne = try await Evaluator(source: StepByStep(base: families)).evaluateRange(
                    expr, start: start, end: Self.now, step: step)
                #expect(!oneByOne.isEmpty, "\(query) has data")
                #expect(slid == oneByOne, "\(query) from \(start - Self.now) ms at \(step) ms steps")
                // In runs side by side, each sliding its own windows.
                let cut = try await Evaluator(source: families).evaluateRange(
                    expr, start: start, end: Self.now, step: step, parts: 2)
                #expect(cut == oneByOne, "\(query) in two runs from \(start - Self.now) ms at \(step) ms steps")
            }
        }
    }
}

/// The hot buckets and durable minutes summed per service, kept from one range query to the next (``BucketSummaries``).
@Suite struct BucketSummariesTests {
    /// A window's requests summed per service equal each service's series merged one by one, and a window already
    /// summed per service (one series a service, as the service families' range queries slide them) sums to itself.
    @Test func requestsSummedPerServiceEqualTheirSeriesMerged() {
        var rng = SplitMix64(seed: 47)
        for round in 0..<20 {
            var w = WindowData()
            w.merge(
                BatchAggregate(
                    events: randomEvents(
                        count: 1 + round * 40, baseMs: RangeWindowsTests.now, spanMs: 600_000, rng: &rng),
                    rules: .init()
                ).hot)
            for latency in [true, false] {
                var oracle: [String: RequestStats] = [:]
                for (k, s) in w.requests {
                    var t = s
                    if !latency { t.latency = LogSketch() }
                    oracle[k.service, default: RequestStats()].merge(t)
                }
                #expect(w.requestsByService(latency: latency) == oracle, "round \(round)")
                #expect(w.summedPerService().requestsByService(latency: latency) == oracle, "round \(round)")
            }
        }
    }

    /// A hot cache over `stores`' hot store at the fixed time `now`, noting every bucket's changes.
    static func trackingCache(_ stores: RangeWindowsTests.Stores, now: Int64) -> WindowCache {
        var windows = WindowCache.Configuration(windowsMs: [60_000, 300_000, 3_600_000])
        windows.bucketTracking = .recent
        return WindowCache(configuration: windows, feed: stores.hot.base, logger: Logger(label: "test"), now: { now })
    }

    /// The hot cache (keeping the long windows' tail) and the long cache over `stores`, at `clock`'s time, both noting
    /// their buckets' changes, as the running service has them.
    static func trackingCaches(_ stores: RangeWindowsTests.Stores, clock: ManualClock) -> (
        hot: WindowCache, long: WindowCache
    ) {
        var hotWindows = WindowCache.Configuration(windowsMs: [60_000, 300_000, 3_600_000])
        hotWindows.keepsTail = true
        hotWindows.bucketTracking = .recent
        var longWindows = WindowCache.Configuration.durable(windowsMs: [21_600_000, 86_400_000])
        longWindows.bucketTracking = .windows
        return (
            WindowCache(
                configuration: hotWindows, feed: stores.hot.base, logger: Logger(label: "test"), now: { clock.now }),
            WindowCache(
                configuration: longWindows, feed: stores.durable, logger: Logger(label: "test"), now: { clock.now })
        )
    }

    /// Kept buckets stay within their bound in series-buckets (the least recently used go) and every read equals the
    /// store's, for one service's buckets asked in random runs.
    @Test func keptBucketsStayWithinTheirBound() async throws {
        let stores = try await RangeWindowsTests.Stores(seed: 50)
        let now = RangeWindowsTests.now
        let cache = Self.trackingCache(stores, now: now)
        try await cache.refresh()  // as the running service has: kept buckets wait for the cache's first read
        let kept = BucketSummaries(store: stores.hot, cache: cache, contents: .all, maxCells: 200)
        let k = TimeBucket.floorDiv(now, 10_000)
        var rng = SplitMix64(seed: 51)
        for round in 0..<60 {
            let service = ["api", "worker", "web"].randomElement(using: &rng)!
            let first = k - Int64.random(in: 0..<60, using: &rng)
            let range = first...(first + Int64.random(in: 0..<12, using: &rng))
            let got = try #require(try await kept.readEach(service: service, range))
            let want = try await stores.hot.base.readEach(service: service, buckets: range)
            #expect(
                Dictionary(uniqueKeysWithValues: got)
                    == want.filter { !$0.value.requests.isEmpty || !$0.value.jobs.isEmpty || !$0.value.logs.isEmpty },
                "round \(round)")
            #expect(kept.keptCells <= 200, "round \(round): \(kept.keptCells) cells kept")
        }
        #expect(kept.answered.kept > 0 && kept.answered.read > 0)
    }

    /// The panels of a dashboard opened at once: four range queries of the service families over the same hour read
    /// each bucket about once between them (a query waits for a bucket another is reading), and each equals its
    /// steps read directly; late events between the openings are read again, once.
    @Test func panelsOpenedAtOnceShareTheirReads() async throws {
        let stores = try await RangeWindowsTests.Stores(seed: 48)
        let now = RangeWindowsTests.now
        let cache = Self.trackingCache(stores, now: now)
        try await cache.refresh()  // as the running service has: kept buckets wait for the cache's first read
        let cached = MetricsReader(hot: stores.hot, durable: stores.durable, cache: cache, clock: WallClock { now })
        let direct = stores.reader()
        var rng = SplitMix64(seed: 49)
        for opening in 0..<3 {
            let readBefore = stores.hot.bucketsRead.withLock { $0 }
            let times = Array(stride(from: now - 3_600_000, through: now, by: 15_000))
            let panels = try await withThrowingTaskGroup(of: [WindowData].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let range = cached.rangeWindows(endMs: now, stepMs: 15_000)
                        var steps: [WindowData] = []
                        for t in times {
                            let w = try await range.window(
                                service: nil, windowMs: 300_000, at: t, contents: .serviceSums)
                            steps.append(try #require(w).data)
                        }
                        return steps
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for (i, t) in times.enumerated() {
                let expected = try await direct.window(service: nil, windowMs: 300_000, at: .at(t)).data
                    .summedPerService()
                for panel in panels { #expect(panel[i] == expected, "opening \(opening) at \(t - now) ms") }
            }
            let read = stores.hot.bucketsRead.withLock { $0 } - readBefore
            // An hour and a window of buckets, read by one panel or another; after late events, what they touched.
            #expect(read <= (opening == 0 ? 600 : 250), "opening \(opening): \(read) buckets read for four panels")
            let events = randomEvents(count: 6, baseMs: now - 1_000_000, spanMs: 2_000_000, rng: &rng)
            try await stores.hot.commit(
                BatchAggregate(events: events, rules: .init()).hot, position: 200 + UInt64(opening), collector: "late")
        }
    }

    /// Range queries of the service and job families and of one service's series, one after another as a dashboard
    /// refreshes, through a reader whose kept buckets the hot and long caches tell unchanged: between queries, late events land in buckets and minutes the
    /// last query read (from two collectors, in both stores), the clock moves on by a few seconds or past the hot
    /// cache's longest step (a rebuild, after which nothing kept may be used). Every step equals the per-service sum
    /// of its own direct read; the queries after the first read from the stores only what changed or is new.
    @Test(arguments: [300_000, 3_600_000, 21_600_000] as [Int64])
    func serviceAndJobSeriesKeptAcrossQueriesEqualTheirReads(windowMs: Int64) async throws {
        let stores = try await RangeWindowsTests.Stores(seed: 40 + UInt64(windowMs / 60_000))
        let clock = ManualClock(RangeWindowsTests.now)
        let (cache, longCache) = Self.trackingCaches(stores, clock: clock)
        let cached = MetricsReader(
            hot: stores.hot, durable: stores.durable, cache: cache, longCache: longCache,
            clock: WallClock { clock.now })
        let direct = MetricsReader(hot: stores.hot, durable: stores.durable, clock: WallClock { clock.now })
        // As the running service has: kept buckets wait for the caches' first read.
        try await cache.refresh()
        try await longCache.refresh()
        var rng = SplitMix64(seed: UInt64(windowMs))
        var position: UInt64 = 100
        var lastRebuilds: [RangeWindows.Contents: Int] = [:]
        for query in 0..<4 {
            // All services' sums, the job series, one service's series.
            for (contents, service) in [(RangeWindows.Contents.serviceSums, String?.none), (.jobs, nil), (.all, "api")]
            {
                let before = cached.summariesAnswered(contents)
                let hotReadBefore = stores.hot.bucketsRead.withLock { $0 }
                let range = cached.rangeWindows(endMs: clock.now, stepMs: 15_000)
                var steps = 0
                for t in stride(from: clock.now - 3_600_000, through: clock.now, by: 15_000) as StrideThrough<Int64> {
                    let got = try #require(
                        try await range.window(service: service, windowMs: windowMs, at: t, contents: contents))
                    let expected = try await direct.window(service: service, windowMs: windowMs, at: .at(t))
                    var want = WindowData()
                    switch contents {
                    case .all: want = expected.data
                    case .jobs: want.jobs = expected.data.jobs
                    case .serviceSums: want = expected.data.summedPerService()
                    }
                    #expect(got.timeMs == expected.timeMs)
                    #expect(
                        got.data == want,
                        "query \(query) \(contents): window \(windowMs) at \(t - clock.now) ms from now")
                    steps += 1
                }
                #expect(steps == 241)
                let after = cached.summariesAnswered(contents)
                let kept =
                    (after.hot?.kept ?? 0) - (before.hot?.kept ?? 0) + (after.durable?.kept ?? 0)
                    - (before.durable?.kept ?? 0)
                // Unless the hot cache was rebuilt since the last query of these contents (then nothing kept is used).
                let rebuilds = await cache.rebuilds
                defer { lastRebuilds[contents] = rebuilds }
                if query > 0 && rebuilds == lastRebuilds[contents] {
                    // What the last query read is answered from memory, but for what changed meanwhile.
                    #expect(kept > 0, "query \(query) \(contents) answered nothing from memory")
                    if windowMs <= 3_600_000 {
                        let hotRead = stores.hot.bucketsRead.withLock { $0 } - hotReadBefore
                        #expect(hotRead < 150, "query \(query) \(contents) read \(hotRead) hot buckets")
                    }
                }
            }
            // Late events from two collectors into what the query read (both stores), and the clock moving on.
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let ago = Int64.random(in: 0..<(windowMs > 3_600_000 ? 7_200_000 : 3_900_000), using: &rng)
                let events = randomEvents(count: 8, baseMs: clock.now - ago, spanMs: 20_000, rng: &rng)
                let batch = BatchAggregate(events: events, rules: .init())
                position += 1
                let collector = position % 2 == 0 ? "late-a" : "late-b"
                try await stores.hot.commit(batch.hot, position: position, collector: collector)
                try await stores.durable.commit(batch.durable, position: position, collector: collector)
            }
            clock.advance(query == 1 ? 400_000 : Int64.random(in: 0...25_000, using: &rng))
        }
        #expect(await cache.rebuilds >= 2, "the long step rebuilt the hot cache")
    }
}

/// Range queries' step results kept from one query to the next (``StepResults``).
@Suite struct StepResultsTests {
    /// Families over `stores` whose reader's hot and long caches track their buckets (after their first read, as the
    /// running service has them), and families reading the stores directly (nothing kept: the oracle's).
    static func families(_ stores: RangeWindowsTests.Stores, clock: ManualClock, windowsMs: [Int64]) async throws -> (
        families: MetricFamilies, direct: MetricFamilies, cache: WindowCache, longCache: WindowCache
    ) {
        let (cache, longCache) = BucketSummariesTests.trackingCaches(stores, clock: clock)
        let configuration = MetricFamilies.Configuration(windowsMs: windowsMs)
        let families = MetricFamilies(
            configuration: configuration,
            reader: MetricsReader(
                hot: stores.hot, durable: stores.durable, cache: cache, longCache: longCache,
                clock: WallClock { clock.now }),
            totals: stores.hot, selfMetrics: SelfMetrics(), clock: WallClock { clock.now })
        let direct = MetricFamilies(
            configuration: configuration,
            reader: MetricsReader(hot: stores.hot, durable: stores.durable, clock: WallClock { clock.now }),
            totals: stores.hot, selfMetrics: SelfMetrics(), clock: WallClock { clock.now })
        try await cache.refresh()
        try await longCache.refresh()
        return (families, direct, cache, longCache)
    }

    /// Range queries as a dashboard refreshing asks them (half an hour at 15-second steps, the end on the step's grid
    /// and moving with the clock), through families whose reader's hot and long caches track their buckets: between
    /// every other pair of queries, late events from two collectors land in buckets and minutes the last query read
    /// (both stores), one batch always in its last step's newest bucket and one a minute before; the clock moves on by a few seconds, once past the hot cache's longest step (a rebuild: nothing
    /// kept is used), once by a minute (steps whose window the hot buckets no longer hold are read elsewhere). New
    /// steps start from the windows the last query ended with (``KeptWindows``), and so does a query of the time since
    /// the last one. Every query equals the same query evaluated step by step with nothing kept; after a pause
    /// without late events or rebuild the queries use kept steps, except those that read the running counters, which
    /// are never kept.
    @Test(arguments: [300_000, 3_600_000, 21_600_000] as [Int64])
    func stepsKeptAcrossQueriesEqualTheirEvaluation(windowMs: Int64) async throws {
        let stores = try await RangeWindowsTests.Stores(seed: 90 + UInt64(windowMs / 60_000))
        let clock = ManualClock(RangeWindowsTests.now)
        let (families, direct, cache, longCache) = try await Self.families(
            stores, clock: clock, windowsMs: [300_000, 3_600_000, 21_600_000])
        let w = PromDuration.format(windowMs)
        let kept = [
            #"max by (service) (opsight_request_latency_seconds{window="\#(w)",quantile="0.99"})"#,
            #"sum by (service) (opsight_request_rate{window="\#(w)"})"#,
            #"count(opsight_request_latency_seconds{window="\#(w)",quantile="0.99"} >= ignoring(quantile) opsight_request_latency_seconds{window="\#(w)",quantile="0.5"})"#,
            #"opsight_job_failure_ratio{window="\#(w)"}"#,
            #"opsight_service_latency_seconds{window="\#(w)",service="api"}"#,
        ]
        // Reads the running counters at the steps within a minute of now: never kept.
        let counters =
            #"sum by (service) (opsight_requests_total) + on(service) sum by (service) (opsight_request_rate{window="1h"})"#
        var rng = SplitMix64(seed: UInt64(windowMs) &+ 3)
        var position: UInt64 = 100
        var lastRebuilds = (-1, -1)
        var previousEnd: Int64?
        for round in 0..<6 {
            let end = TimeBucket.floorDiv(clock.now, 15_000) * 15_000
            try await cache.refresh()
            try await longCache.refresh()
            let rebuilds = (await cache.rebuilds, await longCache.rebuilds)
            let startedBefore = families.reader.keptWindows.startedFromKept
            if let previousEnd {
                // The chart zoomed to the time since the last query: its first step's window is the one that query
                // kept, and nothing of its steps is kept.
                let expr = try Parser.parse(kept[1])
                let got = try await Evaluator(source: families).evaluateRange(
                    expr, start: previousEnd, end: end, step: 15_000)
                let oracle = try await Evaluator(source: RangeWindowsTests.StepByStep(base: direct)).evaluateRange(
                    expr, start: previousEnd, end: end, step: 15_000)
                #expect(got == oracle, "round \(round): \(kept[1]) since the last query")
            }
            previousEnd = end
            for query in kept + [counters] {
                let expr = try Parser.parse(query)
                let before = families.stepResults.answered
                let got = try await Evaluator(source: families).evaluateRange(
                    expr, start: end - 1_800_000, end: end, step: 15_000)
                let oracle = try await Evaluator(source: RangeWindowsTests.StepByStep(base: direct)).evaluateRange(
                    expr, start: end - 1_800_000, end: end, step: 15_000)
                #expect(!oracle.isEmpty, "\(query) has data")
                #expect(got == oracle, "round \(round): \(query)")
                let used = families.stepResults.answered.kept - before.kept
                if query == counters {
                    // Its steps older than a minute read no counter, but a step is kept or not as a whole.
                    #expect(used == 0, "round \(round): \(query) used \(used) kept steps")
                } else if round > 0 && round % 2 == 0 && rebuilds == lastRebuilds {
                    #expect(used > 0, "round \(round): \(query) used no kept step")
                }
            }
            if round == 4 {
                // Four new steps since the last query, without late events or rebuild between.
                #expect(families.reader.keptWindows.startedFromKept > startedBefore, "new steps moved on kept windows")
            }
            lastRebuilds = rebuilds
            // Late events from two collectors into what the queries read (both stores), and the clock moving on.
            for late in 0..<(round % 2 == 0 ? Int.random(in: 2...4, using: &rng) : 0) {
                let ago = Int64.random(in: 0..<(windowMs > 3_600_000 ? 7_200_000 : 3_900_000), using: &rng)
                // The first into the last step's newest bucket, as live traffic lands after a query: that step's
                // window, kept for the next query's new steps, changed.
                // The second into its older buckets, a minute back.
                let events =
                    late == 0
                    ? randomEvents(count: 8, baseMs: end, spanMs: 5_000, rng: &rng)
                    : late == 1
                        ? randomEvents(count: 8, baseMs: end - 60_000, spanMs: 20_000, rng: &rng)
                        : randomEvents(count: 8, baseMs: clock.now - ago, spanMs: 20_000, rng: &rng)
                let batch = BatchAggregate(events: events, rules: .init())
                position += 1
                let collector = position % 2 == 0 ? "late-a" : "late-b"
                try await stores.hot.commit(batch.hot, position: position, collector: collector)
                try await stores.durable.commit(batch.durable, position: position, collector: collector)
            }
            // A minute on, the steps of a window past the hot buckets' reach move from them to the durable minutes. Each
            // query has a new step or more, whose windows move on from the last query's newest ones.
            clock.advance(round == 2 ? 400_000 : round == 3 ? 60_000 : Int64.random(in: 15_000...25_000, using: &rng))
        }
        #expect(families.stepResults.keptSamples <= families.stepResults.maxSamples)
    }
}

extension StepResultsTests {
    /// Four clients (or panels) asking for the same chart at once compute each step once: the others wait for the
    /// step and take its result. Every answer equals the query evaluated step by step, and the hot store is read
    /// about as much as for one query rather than four times.
    @Test func oneChartAskedFourTimesAtOnceIsComputedOnce() async throws {
        let stores = try await RangeWindowsTests.Stores(seed: 123)
        let clock = ManualClock(RangeWindowsTests.now)
        let (families, direct, _, _) = try await Self.families(stores, clock: clock, windowsMs: [300_000, 3_600_000])
        let expr = try Parser.parse(#"max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})"#)
        let end = TimeBucket.floorDiv(clock.now, 15_000) * 15_000
        let oracle = try await Evaluator(source: RangeWindowsTests.StepByStep(base: direct)).evaluateRange(
            expr, start: end - 1_800_000, end: end, step: 15_000)
        let readBefore = stores.hot.bucketsRead.withLock { $0 }
        let answers = try await withThrowingTaskGroup(of: [Series].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await Evaluator(source: families).evaluateRange(
                        expr, start: end - 1_800_000, end: end, step: 15_000)
                }
            }
            var out: [[Series]] = []
            for try await answer in group { out.append(answer) }
            return out
        }
        #expect(!oracle.isEmpty)
        for answer in answers { #expect(answer == oracle) }
        #expect(families.stepResults.waited > 0, "the queries waited for one another's steps")
        // One query reads the 30 buckets of its first window and one more per step (121 steps, read ahead a little).
        let read = stores.hot.bucketsRead.withLock { $0 } - readBefore
        #expect(read < 2 * (30 + 121 + 12), "\(read) hot buckets read by four queries")
    }
}
