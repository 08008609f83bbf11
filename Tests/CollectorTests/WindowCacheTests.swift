import Foundation
import Logging
import OpsightMetrics
import Synchronization
import OpsightTestSupport
import Testing

@testable import Collector
@testable import QueryModel

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let ms: Mutex<Int64>
    init(_ ms: Int64) { self.ms = Mutex(ms) }
    var now: Int64 { ms.withLock { $0 } }
    func advance(_ by: Int64) { ms.withLock { $0 += by } }
}

@Suite struct WindowCacheTests {
    static let windows: [Int64] = [10_000, 60_000, 300_000, 3_600_000]

    /// The oracle: the window read straight from the store's buckets.
    func direct(_ store: InMemoryMetricsStore, _ windowMs: Int64, at ms: Int64) async throws -> WindowData {
        let k = TimeBucket.index(ofMs: ms, widthMs: TimeBucket.hotWidthMs)
        return try await store.read(service: nil, buckets: (k - windowMs / TimeBucket.hotWidthMs + 1)...k)
    }

    func commit(_ store: InMemoryMetricsStore, _ events: [Event], position: inout UInt64) async throws {
        position += 1
        try await store.commit(BatchAggregate(events: events, rules: .init()).hot, position: position, collector: "c")
    }

    /// Random commits (recent, late by up to 70 minutes, a little in the future), time stepping by 0–25 s and
    /// sometimes by minutes, expiry of buckets older than the hot retention, and a trimmed feed now and then:
    /// after every step each kept window equals a full read of its buckets.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func equalsAFullReadAfterRandomCommitsLateEventsAndExpiry(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let clock = ManualClock(1_795_000_003_456)
        let cache = WindowCache(
            configuration: .init(windowsMs: Self.windows), feed: store, logger: Logger(label: "test"),
            now: { clock.now })
        var position: UInt64 = 0
        // Data before the cache first looks, including buckets the windows will later drop.
        try await commit(
            store, randomEvents(count: 400, baseMs: clock.now, spanMs: 4_000_000, rng: &rng), position: &position)
        var expectedRebuilds = 0
        var lastRebuildCause = "first poll"
        for step in 0..<120 {
            let commits = Int.random(in: 0...3, using: &rng)
            for _ in 0..<commits {
                let late = Int.random(in: 0..<4, using: &rng) == 0
                let span: Int64 = late ? 4_200_000 : 15_000
                let base = clock.now + (Int.random(in: 0..<5, using: &rng) == 0 ? 12_000 : 0)  // some future stamps
                let events = randomEvents(
                    count: Int.random(in: 1...30, using: &rng), baseMs: base, spanMs: span, rng: &rng)
                try await commit(store, events, position: &position)
            }
            var jumped = false
            switch Int.random(in: 0..<20, using: &rng) {
            case 0:
                clock.advance(Int64.random(in: 320_000...900_000, using: &rng))  // more than the cache steps
                jumped = true
            case 1: store.trimFeed(keeping: 0)
            default: clock.advance(Int64.random(in: 0...25_000, using: &rng))
            }
            // Buckets older than the hot retention (75 minutes) are gone, as Redis expires them.
            store.expire(before: TimeBucket.index(ofMs: clock.now - 4_500_000, widthMs: TimeBucket.hotWidthMs))
            for w in Self.windows {
                let cached = try #require(try await cache.window(windowMs: w))
                #expect(cached.timeMs == clock.now)
                let want = try await direct(store, w, at: clock.now)
                #expect(cached.data == want, "seed \(seed) step \(step) window \(w) after \(lastRebuildCause)")
                if cached.data != want { return }
            }
            if jumped {
                expectedRebuilds += 1
                lastRebuildCause = "a jump at step \(step)"
            }
        }
        // Rebuilt at the start, after each long jump and after trims that removed unread changes; never because the
        // sums went out of step (that would be logged as an error and is what the equality above guards).
        #expect(await cache.rebuilds >= 1 + expectedRebuilds)
    }

    @Test func aQuerySeesACommitMadeJustBeforeIt() async throws {
        let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let clock = ManualClock(1_795_000_003_456)
        let cache = WindowCache(feed: store, logger: Logger(label: "test"), now: { clock.now })
        #expect(try await cache.window(windowMs: 60_000)?.data == WindowData())
        var rng = SplitMix64(seed: 9)
        var position: UInt64 = 0
        let events = randomEvents(count: 50, baseMs: clock.now, spanMs: 50_000, rng: &rng)
        try await commit(store, events, position: &position)
        let seen = try #require(try await cache.window(windowMs: 60_000))
        #expect(seen.data == (try await direct(store, 60_000, at: clock.now)))
        #expect(!seen.data.requests.isEmpty)
        #expect(await cache.rebuilds == 1)
    }

    @Test func concurrentQueriesSharePollsAndAgree() async throws {
        let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let clock = ManualClock(1_795_000_003_456)
        let cache = WindowCache(feed: store, logger: Logger(label: "test"), now: { clock.now })
        var rng = SplitMix64(seed: 5)
        var position: UInt64 = 0
        try await commit(
            store, randomEvents(count: 200, baseMs: clock.now, spanMs: 3_000_000, rng: &rng), position: &position)
        let want = try await direct(store, 300_000, at: clock.now)
        let results = try await withThrowingTaskGroup(of: WindowData?.self) { group in
            for _ in 0..<16 { group.addTask { try await cache.window(windowMs: 300_000)?.data } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0 == want })
    }

    /// A cache with a wake signal (``WindowCache/Configuration/wake``) polls when it is signalled, not only at its
    /// refresh: a commit reaches it without any query long before the next refresh (a minute here).
    @Test func aWakeSignalPollsBeforeTheRefresh() async throws {
        let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        // Just past a bucket boundary, so the cache's wake-up at the next one is ~10 s away (its clock stands still).
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000) / TimeBucket.hotWidthMs * TimeBucket.hotWidthMs + 6
        var configuration = WindowCache.Configuration(windowsMs: [300_000], refreshInterval: .seconds(60))
        let wake = WakeSignal()
        configuration.wake = wake
        let cache = WindowCache(configuration: configuration, feed: store, logger: Logger(label: "t"), now: { nowMs })
        let running = Task { try await cache.run() }
        defer { running.cancel() }
        func polls() async -> Int { await cache.polls.finished }
        for _ in 0..<200 where await polls() == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await polls() == 1, "the first poll")
        try await Task.sleep(for: .milliseconds(100))
        #expect(await polls() == 1, "no poll before the refresh without a signal")
        var position: UInt64 = 0
        var e = Event(timestampMs: nowMs - 1_000, service: "api", kind: .request)
        (e.route, e.method, e.status, e.durationMs) = ("/a", "GET", 200, 5)
        try await commit(store, [e], position: &position)
        wake.signal()
        for _ in 0..<200 where await polls() == 1 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await polls() == 2, "polled on the signal")
        #expect(await cache.polls.started == 2, "and not because something asked")
        let snapshot = try #require(await cache.snapshot(300_000))
        #expect(snapshot.data == (try await direct(store, 300_000, at: nowMs)) && !snapshot.data.requests.isEmpty)
    }

    @Test func windowsNotKeptAreLeftToTheStore() async throws {
        let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let cache = WindowCache(
            configuration: .init(windowsMs: [60_000, 21_600_000, 15_000]), feed: store, logger: Logger(label: "test"),
            now: { 1_795_000_003_456 })
        #expect(cache.windowsMs == [60_000])
        #expect(try await cache.window(windowMs: 300_000) == nil)
    }

    @Test func theReaderAnswersFromTheCacheAtNowAndFromTheStoreInThePast() async throws {
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let clock = ManualClock(1_795_000_003_456)
        let cache = WindowCache(feed: hot, logger: Logger(label: "test"), now: { clock.now })
        let reader = MetricsReader(hot: hot, durable: durable, cache: cache, clock: WallClock { clock.now })
        let plain = MetricsReader(hot: hot, durable: durable, clock: WallClock { clock.now })
        var rng = SplitMix64(seed: 11)
        var position: UInt64 = 0
        try await commit(
            hot, randomEvents(count: 300, baseMs: clock.now, spanMs: 3_000_000, rng: &rng), position: &position)
        for service in [nil, "api"] as [String?] {
            let a = try await reader.window(service: service, windowMs: 300_000, at: .now(clock.now))
            let b = try await plain.window(service: service, windowMs: 300_000, at: .now(clock.now))
            #expect(a.data == b.data)
            #expect(a.timeMs == b.timeMs)
            let pastA = try await reader.window(service: service, windowMs: 300_000, at: .at(clock.now - 60_000))
            let pastB = try await plain.window(service: service, windowMs: 300_000, at: .at(clock.now - 60_000))
            #expect(pastA.data == pastB.data)
        }
        #expect(await cache.rebuilds == 1)
    }
}

/// Windows over an hour from the caches (issue 15): the durable store's minutes through two minutes back, kept by a
/// cache over its minutes, plus the hot store's buckets since, kept as the hot cache's tail, equal what the reader
/// reads from the stores directly.
@Suite struct LongWindowCacheTests {
    static let longWindows: [Int64] = [7_200_000, 21_600_000, 86_400_000]

    /// Random commits (current, lagging by a minute or two, late by up to a day, a little in the future) into both
    /// stores as a flush would make them, the clock stepping by 0–40 s and now and then by minutes or by more than
    /// the caches step, hot buckets expiring after 75 minutes, the feeds trimmed now and then: after every step each
    /// long window from the caches equals the direct read, for every service and for all of them.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func equalTheDirectReadAfterRandomCommitsLateEventsAndJumps(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        var stores = LongWindowStores(windowsMs: Self.longWindows + [60_000, 3_600_000])
        let (hot, durable, clock, cache, longCache) = (
            stores.hot, stores.durable, stores.clock, stores.cache, stores.longCache
        )
        #expect(longCache.windowsMs == Set(Self.longWindows), "the long cache keeps only windows over an hour")
        let (reader, plain) = (stores.reader, stores.plain)
        func commit(_ events: [Event]) async throws { try await stores.commit(events) }
        try await commit(randomEvents(count: 600, baseMs: clock.now, spanMs: 90_000_000, rng: &rng))
        for step in 0..<150 {
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                let span: Int64 =
                    switch Int.random(in: 0..<8, using: &rng) {
                    case 0: 86_000_000  // late by up to a day
                    case 1: 150_000  // a flush lagging by minutes
                    default: 15_000
                    }
                let base = clock.now + (Int.random(in: 0..<6, using: &rng) == 0 ? 12_000 : 0)
                try await commit(
                    randomEvents(count: Int.random(in: 1...30, using: &rng), baseMs: base, spanMs: span, rng: &rng))
            }
            switch Int.random(in: 0..<25, using: &rng) {
            case 0: clock.advance(Int64.random(in: 2_000_000...3_000_000, using: &rng))  // past both caches' steps
            case 1, 2: clock.advance(Int64.random(in: 60_000...400_000, using: &rng))
            case 3: hot.trimFeed(keeping: 0)
            case 4: durable.trimFeed(keeping: 0)
            default: clock.advance(Int64.random(in: 0...40_000, using: &rng))
            }
            hot.expire(before: TimeBucket.index(ofMs: clock.now - 4_500_000, widthMs: TimeBucket.hotWidthMs))
            for w in Self.longWindows {
                // The caches' own parts, so that a reader falling back to the stores cannot pass for them.
                let tail = try #require(try await cache.tail())
                let cold = try #require(try await longCache.snapshot(w))
                #expect(cold.newest == TimeBucket.index(ofMs: clock.now, widthMs: TimeBucket.durableWidthMs) - 2)
                var whole = cold.data
                whole.merge(tail.data)
                let want = try await plain.window(service: nil, windowMs: w, at: .now(clock.now))
                #expect(whole == want.data, "seed \(seed) step \(step) window \(w): the caches' parts")
                if whole != want.data { return }
                for service in [nil, "api"] as [String?] {
                    let a = try await reader.window(service: service, windowMs: w, at: .now(clock.now))
                    let b = try await plain.window(service: service, windowMs: w, at: .now(clock.now))
                    #expect(a.data == b.data, "seed \(seed) step \(step) window \(w) service \(service ?? "all")")
                    #expect(a.timeMs == b.timeMs)
                    if a.data != b.data { return }
                }
            }
        }
        #expect(await longCache.rebuilds >= 1)

        // Reads of one long window at the same parts, at once, share one sum, and equal the direct read.
        let before = reader.combined.sums
        try await commit(randomEvents(count: 50, baseMs: clock.now, spanMs: 15_000, rng: &rng))
        let reads = try await withThrowingTaskGroup(of: WindowData.self) { group in
            for _ in 0..<8 {
                group.addTask { try await reader.window(service: nil, windowMs: 86_400_000, at: .now(clock.now)).data }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let want = try await plain.window(service: nil, windowMs: 86_400_000, at: .now(clock.now))
        #expect(reads.allSatisfy { $0 == want.data })
        #expect(reader.combined.sums == before + 1)
    }
}

/// Both stores, a hot cache that keeps its tail and a durable cache of the windows over an hour, a reader over them
/// and one without caches, and commits into both stores as a flush makes them: where the long-window tests run.
struct LongWindowStores {
    let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
    let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
    let clock = ManualClock(1_795_000_003_456)
    let cache: WindowCache
    let longCache: WindowCache
    let reader: MetricsReader
    let plain: MetricsReader
    private var position: UInt64 = 0

    /// The caches of `windowsMs` (the hot one keeps those up to an hour, the durable one those over it).
    init(windowsMs: [Int64]) {
        let clock = clock
        cache = WindowCache(
            configuration: {
                var c = WindowCache.Configuration(windowsMs: windowsMs.filter { $0 <= 3_600_000 })
                c.keepsTail = true
                return c
            }(), feed: hot, logger: Logger(label: "test"), now: { clock.now })
        longCache = WindowCache(
            configuration: .durable(windowsMs: windowsMs), feed: durable, logger: Logger(label: "test"),
            now: { clock.now })
        let wall = WallClock { clock.now }
        reader = MetricsReader(hot: hot, durable: durable, cache: cache, longCache: longCache, clock: wall)
        plain = MetricsReader(hot: hot, durable: durable, clock: wall)
    }

    /// `events` committed into both stores, as one flush.
    mutating func commit(_ events: [Event]) async throws {
        position += 1
        let batch = BatchAggregate(events: events, rules: .init())
        try await hot.commit(batch.hot, position: position, collector: "c")
        try await durable.commit(batch.durable, position: position, collector: "c")
    }
}
