import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import PromQL
import Testing

@testable import Collector
@testable import QueryModel

/// The fast `/metrics` writer (``ExpositionWriter``, ``WindowBlocks``, ``CounterBlock``, ``ExpositionCache``) writes
/// byte for byte what the reference writer (``PrometheusText`` fed by ``WindowFamilies``, ``CounterFamilies`` and
/// ``MetricFamilies/write(to:at:selection:ordered:)``) writes, on random data with hostile label values, and a
/// window's cached lines are never served for a newer version of the window.
@Suite struct ExpositionWriterTests {
    /// Label values the format must escape or keep as they are.
    static let hostile = [
        "", "a\"b", "back\\slash", "line\nbreak", "nul\u{0}x", "é✓ \u{1F600}", "日本", "\\\"\n", "plain", "z",
    ]

    static func value(_ rng: inout SplitMix64) -> Double {
        switch Int.random(in: 0..<12, using: &rng) {
        case 0: return .nan
        case 1: return .infinity
        case 2: return -.infinity
        case 3: return 1e300
        case 4: return -1e300
        case 5: return Double(Int64.random(in: -(1 << 62)...(1 << 62), using: &rng))
        case 6: return Double(Int64.random(in: -1_000_000...1_000_000, using: &rng))
        case 7: return [1e15, -1e15, 999_999_999_999_999, 1e15 + 2, 0, -0.0].randomElement(using: &rng)!
        case 8: return Double.random(in: -1...1, using: &rng) * 1e-300
        default: return Double.random(in: -1e6...1e6, using: &rng) / Double(Int.random(in: 1...10_000, using: &rng))
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func samplesEqualThePrometheusTexts(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var reference = PrometheusText()
        var fast = ExpositionWriter()
        for _ in 0..<3_000 {
            let labels = (0..<Int.random(in: 0...3, using: &rng)).map { i in
                ("l\(i)", Self.hostile.randomElement(using: &rng)!)
            }
            let v = Self.value(&rng)
            reference.sample("m", labels: labels, v)
            guard v.isFinite else { continue }
            fast.append("m")
            if !labels.isEmpty {
                fast.append("{")
                for (i, (name, value)) in labels.enumerated() {
                    if i > 0 { fast.append(",") }
                    fast.label(name, value)
                }
                fast.append("}")
            }
            fast.endLine(v)
        }
        #expect(fast.bytes == reference.bytes)
    }

    /// Random windows of request, job and log series: a key from the hostile values, counts up to 2⁶², sketches of
    /// random values.
    static func window(_ rng: inout SplitMix64, series: Int) -> WindowData {
        var d = WindowData()
        func pick() -> String {
            hostile.randomElement(using: &rng)!
                + (Bool.random(using: &rng) ? "" : "\(Int.random(in: 0..<5, using: &rng))")
        }
        func count() -> UInt64 {
            Bool.random(using: &rng)
                ? UInt64.random(in: 0...50, using: &rng) : UInt64.random(in: 0...(1 << 62), using: &rng)
        }
        func sketch() -> LogSketch {
            var s = LogSketch()
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                s.add(Bool.random(using: &rng) ? 0 : exp(Double.random(in: -5...30, using: &rng)))
            }
            return s
        }
        for _ in 0..<series {
            var s = RequestStats()
            s.count = count()
            s.errors = Bool.random(using: &rng) ? 0 : UInt64.random(in: 0...max(s.count, 1), using: &rng)
            s.class2xx = count()
            s.class5xx = count()
            s.class1xx = Bool.random(using: &rng) ? 0 : count()
            s.latency = sketch()
            d.requests[RequestKey(service: pick(), route: pick(), method: pick())] = s
        }
        for _ in 0..<(series / 4) {
            var j = JobStats()
            j.enqueued = count()
            j.succeeded = count()
            j.failed = Bool.random(using: &rng) ? 0 : count()
            j.duration = sketch()
            j.wait = sketch()
            d.jobs[JobKey(service: pick(), queue: pick(), job: pick())] = j
        }
        for _ in 0..<(series / 8) {
            var l = LogStats()
            l.record(.info, count: count())
            l.record(.error, count: Bool.random(using: &rng) ? 0 : count())
            d.logs[pick()] = l
        }
        return d
    }

    @Test(arguments: [4, 5, 6, 7] as [UInt64])
    func windowAndCounterBlocksEqualTheReferenceWriter(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let windowsMs: [Int64] = [60_000, 300_000, 3_600_000, 86_400_000, 90_000]
        let windows = windowsMs.map { ($0, Self.window(&rng, series: Int.random(in: 0...120, using: &rng))) }
        let quantiles = [[0.5, 0.95, 0.99], [0.5], [], [0.999, 0, 1]].randomElement(using: &rng)!
        let totals = Self.window(&rng, series: 150)

        var reference = PrometheusText()
        WindowFamilies(windows: windows, quantiles: quantiles).write(to: &reference)
        CounterFamilies(totals: totals).write(to: &reference)

        var keys = Set<RequestKey>()
        for (_, d) in windows { keys.formUnion(d.requests.keys) }
        keys.formUnion(totals.requests.keys)
        let order = SeriesOrder(keys: Array(keys))
        let blocks = try windows.map {
            try #require(WindowBlocks(windowMs: $0.0, data: $0.1, quantiles: quantiles, order: order))
        }
        var fast = ExpositionWriter()
        for (f, family) in WindowBlocks.families.enumerated() {
            fast.family(family.name, type: family.type, help: family.help)
            for b in blocks { fast.append(b.blocks[f]) }
        }
        fast.append(try #require(CounterBlock.render(totals, order: order)))

        // A window as two parts (a long window's cold minutes and hot tail), rendered without summing them: the
        // same bytes as the sum, series in one part or both, jobs too.
        for (w, cold) in windows {
            let tail = Self.window(&rng, series: Int.random(in: 0...60, using: &rng))
            var sum = cold
            sum.merge(tail)
            let both = SeriesOrder(keys: Array(Set(cold.requests.keys).union(tail.requests.keys)))
            let whole = try #require(WindowBlocks(windowMs: w, data: sum, quantiles: quantiles, order: both))
            let parts = try #require(
                WindowBlocks(
                    windowMs: w, cold: cold, tail: tail, coldServices: ServiceSums.of(cold), quantiles: quantiles,
                    order: both))
            #expect(parts.blocks == whole.blocks)
            // Cut at services' boundaries and rendered side by side: the same bytes, in pieces.
            for n in [2, 3, 7] {
                let cut = try #require(
                    await WindowBlocks.render(
                        windowMs: w, cold: cold, tail: tail, coldServices: ServiceSums.of(cold), quantiles: quantiles,
                        order: both, parts: n))
                #expect(cut.blocks == whole.blocks, "\(n) parts")
                #expect(cut.pieces.allSatisfy { $0.count <= n })
            }
            if let missing = tail.requests.keys.first(where: { cold.requests[$0] == nil }) {
                let short = SeriesOrder(keys: both.keys.filter { $0 != missing })
                #expect(
                    WindowBlocks(
                        windowMs: w, cold: cold, tail: tail, coldServices: ServiceSums.of(cold),
                        quantiles: quantiles, order: short) == nil)
            }
        }

        // An order without one of the series renders nothing (the cache then makes one that covers them).
        for (w, data) in windows {
            guard let missing = data.requests.keys.first else { continue }
            let short = SeriesOrder(keys: order.keys.filter { $0 != missing })
            #expect(WindowBlocks(windowMs: w, data: data, quantiles: quantiles, order: short) == nil)
        }
        if let missing = totals.requests.keys.first {
            #expect(CounterBlock.render(totals, order: SeriesOrder(keys: order.keys.filter { $0 != missing })) == nil)
        }
        #expect(fast.bytes.count == reference.bytes.count)
        #expect(String(decoding: fast.bytes, as: UTF8.self) == reference.output)
    }

    /// A series order grown by merging in the series it lacks (``SeriesOrder/init(_:adding:)``, what a scrape does
    /// when new series appear) is the order sorted from scratch: same series, same ranks, same label bytes. Labels
    /// are hostile values and prefixes of each other (`svc` < `svc-0`), so a merge that put a new series one place
    /// off, or copied the wrong series' bytes, differs.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func ordersGrownByMergingEqualOrdersSortedWhole(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let services = Self.hostile + ["svc", "svc-0", "svc-00", "svc-1", "Svc", "svc\u{0}"]
        let routes = Self.hostile + ["/", "/a", "/a/b", "/a-b", "/A"]
        var all: [RequestKey] = []
        for s in services {
            for r in routes where Bool.random(using: &rng) {
                all.append(RequestKey(service: s, route: r, method: ["GET", "POST", ""].randomElement(using: &rng)!))
            }
        }
        all = Array(Set(all)).shuffled(using: &rng)
        var order = SeriesOrder(keys: Array(all.prefix(Int.random(in: 0...10, using: &rng))))
        var held = Set(order.keys)
        // Grown in steps of 0 to 40 new series (one, several, all at the ends or in the middle).
        while held.count < all.count {
            let added = all.filter { !held.contains($0) }.prefix(Int.random(in: 0...40, using: &rng))
            order = SeriesOrder(order, adding: Array(added))
            held.formUnion(added)
            let whole = SeriesOrder(keys: Array(held))
            #expect(order.keys == whole.keys)
            #expect(order.rank == whole.rank)
            #expect((0..<whole.keys.count).allSatisfy { Array(order.prefix($0)) == Array(whole.prefix($0)) })
            #expect((0..<whole.keys.count).allSatisfy { order.service($0) == whole.service($0) })
        }
        #expect(order.keys.count == all.count)

        // Through the cache: a scrape's needs with new series get the last order with them merged in; series no
        // longer needed stay while they are at most twice the needed ones, and go after.
        let cache = ExpositionCache()
        let first = Dictionary(uniqueKeysWithValues: all.prefix(all.count / 2).map { ($0, RequestStats()) })
        let second = Dictionary(uniqueKeysWithValues: all.suffix(all.count / 3).map { ($0, RequestStats()) })
        let a = cache.order(covering: [first.keys])
        #expect(cache.order(covering: [first.keys]) === a)
        let b = cache.order(covering: [second.keys])
        #expect(Set(b.keys) == Set(first.keys).union(second.keys))
        #expect(b.keys == SeriesOrder(keys: b.keys).keys)
        // Needs the order covers keep it, however few; a new series past twice the needed ones starts afresh.
        #expect(cache.order(covering: [Dictionary(uniqueKeysWithValues: [(all[0], RequestStats())]).keys]) === b)
        let fresh = RequestKey(service: "new", route: "/n", method: "GET")
        let c = cache.order(covering: [Dictionary(uniqueKeysWithValues: [(fresh, RequestStats())]).keys])
        #expect(c.keys == [fresh])
    }

    /// Families over a hot store and a cache of it, as in ``SampleMemoTests``.
    struct Fixture {
        let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let clock = ManualClock(1_795_000_003_456)
        let families: MetricFamilies
        var position: UInt64 = 0

        init() {
            let (store, clock) = (store, clock)
            let windows: [Int64] = [60_000, 300_000, 3_600_000]
            let cache = WindowCache(
                configuration: .init(windowsMs: windows), feed: store, logger: Logger(label: "test"),
                now: { clock.now })
            let reader = MetricsReader(hot: store, durable: store, cache: cache, clock: WallClock { clock.now })
            let selfMetrics = SelfMetrics()
            selfMetrics.register("opsight_build_info", type: "gauge", help: "Build.") { [([("version", "t\"1")], 1)] }
            // Renders kept for the whole test: whether a scrape reuses one must not depend on the machine's speed
            // (`aRenderIsKeptOnlyForAWhile` checks that they go).
            var configuration = MetricFamilies.Configuration(windowsMs: windows)
            configuration.renderKeep = .seconds(3_600)
            families = MetricFamilies(
                configuration: configuration, reader: reader, totals: store, selfMetrics: selfMetrics,
                clock: WallClock { clock.now })
        }

        mutating func commit(_ events: [Event]) async throws {
            position += 1
            try await store.commit(
                BatchAggregate(events: events, rules: .init()).hot, position: position, collector: "c")
        }

        /// What the reference writer writes now.
        func reference() async throws -> String {
            var text = PrometheusText()
            try await families.write(to: &text, at: .now(clock.now), selection: .all)
            return text.output
        }

        func fast() async throws -> String { String(decoding: try await families.expositionBytes(), as: UTF8.self) }
    }

    static func hostileEvents(_ rng: inout SplitMix64, count: Int, baseMs: Int64) -> [Event] {
        (0..<count).map { _ in
            var e = Event(
                timestampMs: baseMs - Int64.random(in: 0..<250_000, using: &rng),
                service: hostile.randomElement(using: &rng)!, kind: .request)
            e.route = hostile.randomElement(using: &rng)!
            e.method = ["GET", "POST", "ДА"].randomElement(using: &rng)!
            e.status = [200, 404, 503].randomElement(using: &rng)!
            e.durationMs = exp(Double.random(in: 0...10, using: &rng))
            return e
        }
    }

    /// Windows over an hour are rendered from their two cached parts (the durable cache's minutes and the hot cache's
    /// tail) without summing them: after random commits into both stores (current, lagging, late by up to a day),
    /// steps of the clock and jumps past the caches' steps, every scrape equals the reference writer over a reader
    /// without caches, which reads each window from the stores.
    @Test(arguments: [21, 22] as [UInt64])
    func longWindowsRenderedFromTheirPartsEqualTheReference(seed: UInt64) async throws {
        try await Self.longWindowSteps(seed: seed, steps: 40, hostile: true) { families, plain, now, step in
            let scraped = String(decoding: try await families.expositionBytes(), as: UTF8.self)
            var text = PrometheusText()
            try await plain.write(to: &text, at: .now(now), selection: .all)
            #expect(scraped == text.output, "seed \(seed) step \(step)")
            // Some windows rendered from their last render and the series that changed in either part.
            if step == 39 { #expect(families.renderedWindows.updates > 0) }
            return scraped == text.output
        }
    }

    /// PromQL selections of the request families over windows longer than an hour are built from the same two parts
    /// without summing them (each series' counts added, its quantiles walked over both sketches): after random
    /// commits (late by up to a day, hostile labels), clock steps and jumps, every selection — rate, error ratio,
    /// latency at one quantile and at all, the windows one by one and together — equals the same selection over a
    /// reader without caches. Hostile labels include empty ones, which the general build serves (an empty value is
    /// an absent label): one run has them, the other has none, so that the build from the parts serves it.
    @Test(arguments: [(31, true), (32, false), (33, false)] as [(UInt64, Bool)])
    func longWindowSelectionsFromTheirPartsEqualTheReference(seed: UInt64, hostile: Bool) async throws {
        let selections: [[LabelMatcher]] = ["opsight_request_rate", "opsight_request_error_ratio",
            "opsight_request_latency_seconds"].flatMap { name in
            let named = LabelMatcher(name: Labels.metricName, equalTo: name)
            return [[named]] + ["6h", "1d"].flatMap { window in
                let windowed = [named, LabelMatcher(name: "window", equalTo: window)]
                return [windowed, windowed + [LabelMatcher(name: "quantile", equalTo: "0.99")]]
            }
        }
        var compared = 0
        try await Self.longWindowSteps(seed: seed, steps: 30, hostile: hostile) { families, plain, now, step in
            for matchers in selections {
                let got = try await families.select(matchers, at: .now(now))
                let want = try await plain.select(matchers, at: .now(now))
                #expect(
                    got.sorted { $0.labels < $1.labels } == want.sorted { $0.labels < $1.labels },
                    "seed \(seed) step \(step) \(matchers)")
                compared += want.count
            }
            return true
        }
        #expect(compared > 10_000)
    }

    /// Windows of a minute to a day over the caches (the long ones from the durable cache's minutes and the hot
    /// cache's tail) and over a reader without caches, through `steps` random steps: commits into both stores
    /// (current, lagging, late by up to a day; hostile labels when `hostile`), clock steps and jumps past the caches'
    /// steps, hot buckets expiring. After each step `check` compares the families over each at the clock's time;
    /// it returns false to stop.
    static func longWindowSteps(
        seed: UInt64, steps: Int, hostile: Bool,
        check: (_ families: MetricFamilies, _ plain: MetricFamilies, _ now: Int64, _ step: Int) async throws -> Bool
    ) async throws {
        var rng = SplitMix64(seed: seed)
        let windows: [Int64] = [60_000, 3_600_000, 21_600_000, 86_400_000]
        var stores = LongWindowStores(windowsMs: windows)
        let (hot, clock, reader) = (stores.hot, stores.clock, stores.reader)
        let wall = WallClock { clock.now }
        var configuration = MetricFamilies.Configuration(windowsMs: windows)
        configuration.quantiles = [0.5, 0.9, 0.99]
        let families = MetricFamilies(
            configuration: configuration, reader: reader, totals: hot, selfMetrics: SelfMetrics(), clock: wall)
        let plain = MetricFamilies(
            configuration: configuration, reader: stores.plain, totals: hot, selfMetrics: SelfMetrics(), clock: wall)
        try await stores.commit(randomEvents(count: 800, baseMs: clock.now, spanMs: 86_000_000, rng: &rng))
        if hostile { try await stores.commit(Self.hostileEvents(&rng, count: 60, baseMs: clock.now)) }
        for step in 0..<steps {
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                let span: Int64 = [86_000_000, 150_000, 15_000, 15_000].randomElement(using: &rng)!
                try await stores.commit(
                    randomEvents(count: Int.random(in: 1...40, using: &rng), baseMs: clock.now, spanMs: span, rng: &rng))
            }
            if hostile, Int.random(in: 0..<4, using: &rng) == 0 {
                try await stores.commit(Self.hostileEvents(&rng, count: 3, baseMs: clock.now))
            }
            switch Int.random(in: 0..<12, using: &rng) {
            case 0: clock.advance(Int64.random(in: 2_000_000...3_000_000, using: &rng))
            case 1, 2: clock.advance(Int64.random(in: 60_000...400_000, using: &rng))
            default: clock.advance(Int64.random(in: 0...40_000, using: &rng))
            }
            hot.expire(before: TimeBucket.index(ofMs: clock.now - 4_500_000, widthMs: TimeBucket.hotWidthMs))
            // The long windows do come from their parts.
            for w in windows where w > 3_600_000 { #expect(try await reader.longParts(windowMs: w) != nil) }
            guard try await check(families, plain, clock.now, step) else { return }
        }
    }

    @Test(arguments: [8, 9] as [UInt64])
    func scrapesEqualTheReferenceAndNewDataIsNeverServedFromTheCache(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        var f = Fixture()
        try await f.commit(randomEvents(count: 400, baseMs: f.clock.now, spanMs: 250_000, rng: &rng))
        try await f.commit(Self.hostileEvents(&rng, count: 100, baseMs: f.clock.now))
        let first = try await f.fast()
        #expect(first == (try await f.reference()))
        let renders = f.families.renderedWindows.renders
        #expect(renders == 3)
        // The same versions: the same bytes, from the cache.
        #expect(try await f.fast() == first)
        #expect(f.families.renderedWindows.renders == renders)
        for _ in 0..<12 {
            let before = f.families.renderedWindows.renders
            let moved = Bool.random(using: &rng)
            if moved {
                f.clock.advance(Int64.random(in: 1_000...40_000, using: &rng))
            } else {
                // New data in every window: a new version, whose lines must be rendered again.
                try await f.commit(Self.hostileEvents(&rng, count: 3, baseMs: f.clock.now))
            }
            let scraped = try await f.fast()
            #expect(scraped == (try await f.reference()))
            if !moved { #expect(f.families.renderedWindows.renders == before + 3) }
        }
        // Some of them from the last render and the series that changed (the hot cache's log of them).
        #expect(f.families.renderedWindows.updates > 0)
        #expect(first.contains("opsight_request_latency_seconds{service=\"a\\\"b\""))
    }

    @Test func concurrentScrapesShareOneRenderPerVersion() async throws {
        var rng = SplitMix64(seed: 10)
        var f = Fixture()
        try await f.commit(randomEvents(count: 300, baseMs: f.clock.now, spanMs: 250_000, rng: &rng))
        let families = f.families
        let scrapes = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<6 { group.addTask { try await families.expositionBytes() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(scrapes).count == 1)
        #expect(String(decoding: scrapes[0], as: UTF8.self) == (try await f.reference()))
        #expect(families.renderedWindows.renders == 3)
    }

    /// A finished render serves scrapes at its version for `keepFor` and is then let go (a scraper every 15 s would
    /// otherwise keep ~40 MB between scrapes); the next scrape at that version renders again, the same bytes.
    @Test func aRenderIsKeptOnlyForAWhile() async throws {
        var rng = SplitMix64(seed: 12)
        var data = WindowData()
        data.merge(BatchAggregate(events: randomEvents(count: 200, baseMs: 1_795_000_000_000, spanMs: 250_000, rng: &rng), rules: .init()).hot)
        let cache = ExpositionCache(keepFor: .milliseconds(50))
        let windows = [
            (Int64(300_000), ExpositionCache.Window(MetricsReader.Result(data: data, timeMs: 1_795_000_000_000, version: .cached(7))))
        ]
        let first = await cache.blocks(windows, quantiles: [0.5, 0.99])
        #expect(cache.renders == 1)
        // Let go within a while, however busy the machine (the reuse before is what the other tests check).
        for _ in 0..<600 where cache.kept > 0 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(cache.kept == 0)
        let again = await cache.blocks(windows, quantiles: [0.5, 0.99])
        #expect(cache.renders == 2)
        #expect(again[0].blocks == first[0].blocks)
    }

    /// Totals with a version are rendered once per version (the hot cache keeps them; a scrape under no new commits
    /// takes the last render), a new version renders again, and totals without one (read from the store) always do.
    @Test func countersAreRenderedOncePerTotalsVersion() async throws {
        var rng = SplitMix64(seed: 13)
        func totals(_ n: Int) -> WindowData {
            var t = WindowData()
            t.addCounts(of: {
                var d = WindowData()
                d.merge(BatchAggregate(events: randomEvents(count: n, baseMs: 1_795_000_000_000, spanMs: 250_000, rng: &rng), rules: .init()).hot)
                return d
            }())
            return t
        }
        let a = totals(200)
        let b = {
            var b = a
            b.addCounts(of: totals(50))
            return b
        }()
        #expect(a != b)
        func reference(_ t: WindowData) -> String {
            var text = PrometheusText()
            CounterFamilies(totals: t, only: nil, ordered: true).write(to: &text)
            return text.output
        }
        let cache = ExpositionCache()
        let first = try await cache.counters { (a, 1) }
        #expect(String(buffer: first) == reference(a))
        #expect(try await cache.counters { (a, 1) } == first)
        #expect(cache.counterRenders == 1)
        let next = try await cache.counters { (b, 2) }
        #expect(cache.counterRenders == 2)
        #expect(String(buffer: next) == reference(b))
        _ = try await cache.counters { (b, nil) }
        _ = try await cache.counters { (b, nil) }
        #expect(cache.counterRenders == 4)
    }
}
