import Logging
import OpsightMetrics
import OpsightTestSupport
import PromQL
import Synchronization
import Testing

@testable import Collector
@testable import QueryModel

/// A funnel step store that counts the reads it answers.
final class CountingFunnelStore: FunnelStepStore {
    let inner: InMemoryMetricsStore
    private let count = Mutex(0)
    init(_ inner: InMemoryMetricsStore) { self.inner = inner }
    var reads: Int { count.withLock { $0 } }
    func funnelSteps(funnel: String, afterMs: Int64, throughMs: Int64) async throws -> [FunnelStepRecord] {
        count.withLock { $0 += 1 }
        return try await inner.funnelSteps(funnel: funnel, afterMs: afterMs, throughMs: throughMs)
    }
}

/// ``FunnelCache`` against the reader without it (which reads the stores each time, the oracle): random records
/// from two writers, out of order, late by up to a day and older than the cache's horizon, time moving by seconds
/// to half hours (trimming), the hot store losing everything and being loaded again, the log trimmed past the
/// cache's cursor — after every step the figures are equal, at now and at times in the past.
@Suite struct FunnelCacheTests {
    static let funnels = [
        FunnelDefinition(
            name: "journey", windowMs: 3_600_000,
            steps: ["document_uploaded", "assessment_requested", "assessment_completed", "report_viewed"].map {
                FunnelStep(name: $0, matcher: .event($0))
            }),
        FunnelDefinition(
            name: "activation", windowMs: 86_400_000,
            steps: ["signed_up", "document_uploaded", "report_viewed"].map { FunnelStep(name: $0, matcher: .event($0)) }
        ),
    ]
    static let windows: [Int64] = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000]
    static let horizonMs: Int64 = 86_400_000
    static let slackMs: Int64 = 1_800_000

    /// Both stores, the clock, the reader without a cache and the one with it.
    struct Setup {
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs, retentionMs: 4_500_000)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let clock: ManualClock
        let plain: FunnelReader
        let cache: FunnelCache
        let cached: FunnelReader
        let hotReads: CountingFunnelStore
        let durableReads: CountingFunnelStore
        var positions: [String: UInt64] = [:]

        init(startMs: Int64, resync: Duration? = nil) {
            clock = ManualClock(startMs)
            let wall = WallClock { [clock] in clock.now }
            plain = FunnelReader(funnels: FunnelCacheTests.funnels, hot: hot, durable: durable, clock: wall)
            hotReads = CountingFunnelStore(hot)
            durableReads = CountingFunnelStore(durable)
            let counted = FunnelReader(
                funnels: FunnelCacheTests.funnels, hot: hotReads, durable: durableReads, clock: wall)
            cache = FunnelCache(
                configuration: .init(
                    horizonMs: FunnelCacheTests.horizonMs, slackMs: FunnelCacheTests.slackMs, resyncInterval: resync),
                reader: counted, feed: hot, logger: Logger(label: "test"), now: { [clock] in clock.now })
            cached = counted.cached(by: cache)
        }

        /// Commits `records` as `writer` to both stores, as a flush does.
        mutating func commit(_ records: [FunnelStepRecord], writer: String) async throws {
            let (delta, position) = try await commitHot(records, writer: writer)
            try await durable.commit(delta, position: position, collector: writer)
        }

        /// Commits `records` as `writer` to the hot store only; the durable store's flush comes later.
        mutating func commitHot(_ records: [FunnelStepRecord], writer: String) async throws -> (Delta, UInt64) {
            var delta = Delta()
            delta.funnelSteps = Set(records)
            let position = (positions[writer] ?? 0) + 1
            positions[writer] = position
            try await hot.commit(delta, position: position, collector: writer)
            return (delta, position)
        }
    }

    /// `n` records of random funnels, steps and entities: mostly of the last two minutes (some a few seconds ahead),
    /// some late by up to an hour or a day, a few older than what the cache keeps.
    static func records(_ n: Int, now: Int64, rng: inout SplitMix64) -> [FunnelStepRecord] {
        (0..<n).map { _ in
            let f = funnels.randomElement(using: &rng)!
            let roll = Int.random(in: 0..<100, using: &rng)
            let age: Int64 =
                switch roll {
                case 0..<70: Int64.random(in: -5_000..<120_000, using: &rng)
                case 70..<85: Int64.random(in: 0..<3_600_000, using: &rng)
                case 85..<96: Int64.random(in: 0..<horizonMs, using: &rng)
                default: horizonMs + slackMs + Int64.random(in: 0..<7_200_000, using: &rng)
                }
            return FunnelStepRecord(
                funnel: f.storageName, step: Int.random(in: 0..<f.steps.count, using: &rng),
                entity: "user-\(Int.random(in: 0..<120, using: &rng))", timestampMs: now - age)
        }
    }

    /// The figures, with the times to convert sorted (they come in no particular order).
    static func normalized(_ figures: [FunnelReader.Figures]) -> [String] {
        figures.map { f in
            "\(f.funnel.name) \(f.windowMs)ms at \(f.timeMs): entered \(f.result.entered), reached \(f.result.reached), "
                + "converted in \(f.result.timesToConvertMs.sorted())"
        }
    }

    /// Every funnel over every window at now, at times up to 40 minutes back (served by the cache) and hours
    /// back (the day window then reaches past what it holds: the stores are read): cached equals plain.
    static func expectEqual(_ s: Setup, rng: inout SplitMix64, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let now = s.clock.now
        let times: [EvaluationTime] = [
            .now(now), .at(now - Int64.random(in: 0..<2_400_000, using: &rng)),
            .at(now - Int64.random(in: 3_600_000..<36_000_000, using: &rng)),
        ]
        for time in times {
            for funnel in funnels {
                let want = try await s.plain.figures(funnel, windowsMs: windows, at: time)
                let got = try await s.cached.figures(funnel, windowsMs: windows, at: time)
                #expect(
                    normalized(got) == normalized(want), "\(funnel.name) at \(time)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func equalsTheStoresAfterRandomLateRecordsFromTwoWritersResetsAndTrims(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        var s = Setup(startMs: 1_795_000_000_000 + Int64(seed) * 7_919)
        // A day of history before the cache first loads.
        for _ in 0..<20 {
            try await s.commit(Self.records(40, now: s.clock.now, rng: &rng), writer: "a")
            s.clock.advance(Int64.random(in: 1_000..<600_000, using: &rng))
        }
        try await Self.expectEqual(s, rng: &rng)
        #expect(await s.cache.loads == 1)
        var gaps = 0
        for round in 0..<60 {
            // Two writers, each with records out of order, late, and older than the horizon; the durable store
            // (written every few seconds) takes them after the hot store.
            let a = try await s.commitHot(
                Self.records(Int.random(in: 0..<30, using: &rng), now: s.clock.now, rng: &rng), writer: "a")
            let b = try await s.commitHot(
                Self.records(Int.random(in: 0..<30, using: &rng), now: s.clock.now, rng: &rng), writer: "b")
            let roll = Int.random(in: 0..<100, using: &rng)
            // Now and then another collector's cache loads before the durable store has this round's late records,
            // which the hot store took (and drops, being older than it keeps): its log still has them.
            let fresh =
                roll >= 85
                ? FunnelCache(
                    configuration: .init(horizonMs: Self.horizonMs, slackMs: Self.slackMs, resyncInterval: nil),
                    reader: s.plain, feed: s.hot, logger: Logger(label: "test"), now: { [clock = s.clock] in clock.now }
                )
                : nil
            try await fresh?.refresh()
            try await s.durable.commit(a.0, position: a.1, collector: "a")
            try await s.durable.commit(b.0, position: b.1, collector: "b")
            if let fresh {
                let now = EvaluationTime.now(s.clock.now)
                for funnel in Self.funnels {
                    let want = try await s.plain.figures(funnel, windowsMs: Self.windows, at: now)
                    let got = try await s.plain.cached(by: fresh).figures(funnel, windowsMs: Self.windows, at: now)
                    #expect(Self.normalized(got) == Self.normalized(want), "a cache loaded before the durable flush")
                }
            }
            switch roll {
            case 0..<6:
                // Redis restarted empty: the uncached reader sees no hot records until the rebuild...
                s.hot.loseEverything()
                gaps += 1
                try await Self.expectEqual(s, rng: &rng)
                // ...which loads the hot range again from the durable store.
                let now = s.clock.now
                var rebuilt = Delta()
                rebuilt.funnelSteps = Set(
                    try await Self.funnels.asyncFlatMap {
                        try await s.durable.funnelSteps(
                            funnel: $0.storageName, afterMs: now - 4_500_000, throughMs: .max)
                    })
                try await s.hot.commit(rebuilt, position: 1, collector: "rebuild")
            case 6..<10:
                s.hot.trimFunnelLog(keeping: 0)
                gaps += 1
            default: break
            }
            // Mostly seconds; now and then half an hour, so that the cache trims what left its horizon.
            s.clock.advance(
                round % 9 == 8
                    ? Int64.random(in: 900_000..<2_000_000, using: &rng) : Int64.random(in: 0..<20_000, using: &rng))
            try await Self.expectEqual(s, rng: &rng)
            // Reads moments apart with no commit between them: the figures kept from a read before are used while
            // the records are the same and no record or attempt crossed a window's edge.
            for _ in 0..<3 {
                s.clock.advance(Int64.random(in: 0..<3_000, using: &rng))
                try await Self.expectEqual(s, rng: &rng)
            }
        }
        #expect(await s.cache.figuresReused > 0, "figures kept between reads were used")
        // A reload after each gap (the first read after a reset also counts as one), never otherwise.
        let loads = await s.cache.loads
        #expect(loads >= 1 + gaps && loads <= 1 + 2 * gaps)
        #expect(await s.cache.recordsFollowed > 0)
    }

    /// The figures kept per funnel and window stay bounded however many windows are asked for (any window can be, by
    /// the funnel API), and every answer still equals the stores' reader.
    @Test func figuresKeptStayBoundedOverManyWindows() async throws {
        var rng = SplitMix64(seed: 99)
        var s = Setup(startMs: 1_795_000_000_000)
        try await s.commit(Self.records(400, now: s.clock.now, rng: &rng), writer: "a")
        let now = EvaluationTime.now(s.clock.now)
        for minutes in 1...300 {
            let windows = [Int64(minutes) * 60_000]
            for funnel in Self.funnels {
                let want = try await s.plain.figures(funnel, windowsMs: windows, at: now)
                let got = try await s.cached.figures(funnel, windowsMs: windows, at: now)
                #expect(Self.normalized(got) == Self.normalized(want), "\(funnel.name) over \(minutes) min")
            }
            #expect(await s.cache.figuresKept <= FunnelCache.maxFigures)
        }
        // Asked again, the last ones are answered from what was kept.
        let reused = await s.cache.figuresReused
        _ = try await s.cached.figures(Self.funnels[0], windowsMs: [300 * 60_000], at: now)
        #expect(await s.cache.figuresReused == reused + 1)
    }

    /// What issue 15 is about: once loaded, reading every funnel over windows up to a day (a `/metrics` scrape, an
    /// alert rule) reads no record from the stores, however many reads and commits come.
    @Test func readsOverADayTakeNoRecordsFromTheStoresOnceLoaded() async throws {
        var rng = SplitMix64(seed: 42)
        var s = Setup(startMs: 1_795_000_000_000)
        for _ in 0..<10 {
            try await s.commit(Self.records(100, now: s.clock.now, rng: &rng), writer: "a")
            s.clock.advance(600_000)
        }
        _ = try await s.cached.allFigures(windowsMs: Self.windows, at: .now(s.clock.now))
        let afterLoad = (s.hotReads.reads, s.durableReads.reads)
        #expect(afterLoad.0 == Self.funnels.count && afterLoad.1 == Self.funnels.count)
        for _ in 0..<30 {
            try await s.commit(Self.records(20, now: s.clock.now, rng: &rng), writer: "b")
            s.clock.advance(1_000)
            let got = try await s.cached.allFigures(windowsMs: Self.windows, at: .now(s.clock.now))
            let want = try await s.plain.allFigures(windowsMs: Self.windows, at: .now(s.clock.now))
            #expect(Self.normalized(got) == Self.normalized(want))
        }
        #expect(s.hotReads.reads == afterLoad.0 && s.durableReads.reads == afterLoad.1)
        #expect(await s.cache.loads == 1)
    }

    /// The backstop: every resync interval the records are read again from the stores, so one that reached the
    /// durable store without passing the hot store's log shows up.
    @Test func aResyncPicksUpRecordsThatBypassedTheLog() async throws {
        var rng = SplitMix64(seed: 7)
        var s = Setup(startMs: 1_795_000_000_000, resync: .seconds(600))
        try await s.commit(Self.records(200, now: s.clock.now, rng: &rng), writer: "a")
        try await Self.expectEqual(s, rng: &rng)
        // A late record only the durable store took (a delta the hot store refused into quarantine).
        var delta = Delta()
        delta.funnelSteps = [
            FunnelStepRecord(
                funnel: Self.funnels[1].storageName, step: 0, entity: "only-durable",
                timestampMs: s.clock.now - 20_000_000)
        ]
        try await s.durable.commit(delta, position: 99, collector: "a")
        let before = try await s.cached.figures(Self.funnels[1], windowsMs: [Self.horizonMs], at: .now(s.clock.now))
        let stores = try await s.plain.figures(Self.funnels[1], windowsMs: [Self.horizonMs], at: .now(s.clock.now))
        #expect(before[0].result.entered + 1 == stores[0].result.entered)
        s.clock.advance(600_000)
        try await Self.expectEqual(s, rng: &rng)
        #expect(await s.cache.loads == 2)
    }
}

extension Sequence {
    func asyncFlatMap<T>(_ body: (Element) async throws -> [T]) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out += try await body(e) }
        return out
    }
}
