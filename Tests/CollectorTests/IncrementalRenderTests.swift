import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector
@testable import QueryModel

/// A window rendered from its last render and the series that changed since (``WindowBlocks/updated(_:order:
/// windowMs:cold:tail:changed:)``) is byte for byte a render from scratch of the new contents, over chains of
/// updates, hot windows and long ones (two parts), series changed, gone and new, services emptied and filled; and
/// the hot cache's log of changed series names every series whose sums differ between two versions.
@Suite struct IncrementalRenderTests {
    /// Keys that differ between two parts' series (the oracle for what changed).
    static func differing(_ a: WindowData, _ b: WindowData) -> Set<RequestKey> {
        Set(a.requests.keys).union(b.requests.keys).filter { a.requests[$0] != b.requests[$0] }
    }

    /// `data` with up to `changes` series changed: new stats, removed, or added from `keys`.
    static func mutated(
        _ data: WindowData, keys: [RequestKey], stats: [RequestStats], changes: Int, rng: inout SplitMix64
    ) -> WindowData {
        var out = data
        for _ in 0..<changes {
            let key = keys.randomElement(using: &rng)!
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: out.requests[key] = nil
            case 1:
                // A series that grows, as ingest makes it: its sketch changes in place where it is not shared.
                var s = out.requests[key] ?? RequestStats()
                s.record(status: 200, durationMs: Double.random(in: 0...5_000, using: &rng), isError: false)
                out.requests[key] = s
            default: out.requests[key] = stats.randomElement(using: &rng)!
            }
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func anUpdateEqualsARenderFromScratch(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let quantiles = [[0.5, 0.95, 0.99], [0.5], [], [0.999, 0, 1]].randomElement(using: &rng)!
        let pool = ExpositionWriterTests.window(&rng, series: 400)
        let all = Array(pool.requests.keys)
        let stats = Array(ExpositionWriterTests.window(&rng, series: 60).requests.values)
        var updates = 0
        for long in [false, true] {
            // The order starts without some series, one service's all, and grows by a few now and then (a series
            // new to the windows): renders of an order grown from the last render's one are updates too.
            let held = all.map(\.service).min()!
            var keys = all.filter { $0.service != held && Int.random(in: 0..<5, using: &rng) > 0 }
            var order = SeriesOrder(keys: keys)
            let w: Int64 = long ? 86_400_000 : 300_000
            var cold = Self.mutated(WindowData(), keys: keys, stats: stats, changes: 300, rng: &rng)
            cold.jobs = pool.jobs
            var tail: WindowData? =
                long ? Self.mutated(WindowData(), keys: keys, stats: stats, changes: 100, rng: &rng) : nil
            var last = try #require(
                await WindowBlocks.render(
                    windowMs: w, cold: cold, tail: tail, coldServices: long ? ServiceSums.of(cold) : nil,
                    quantiles: quantiles, order: order, parts: Int.random(in: 1...4, using: &rng)))
            var grown = 0
            for step in 0..<12 {
                // Renders are synchronous work: let the other tests' tasks run between them (the cooperative pool
                // has a thread per core, and a test waiting on a timer starves while these hold both).
                await Task.yield()
                var between: SeriesOrder? = nil  // an order between two growths, kept as a render would keep it
                for _ in 0..<[0, 0, 1, 2].randomElement(using: &rng)! {
                    let more = all.filter { !keys.contains($0) }.shuffled(using: &rng).prefix(
                        Int.random(in: 1...12, using: &rng))
                    guard !more.isEmpty else { break }
                    between = order
                    order = SeriesOrder(order, adding: Array(more))
                    keys += more
                    grown += 1
                }
                let (oldCold, oldTail) = (cold, tail)
                let changes = [0, 1, 5, 40].randomElement(using: &rng)!
                // A long window's cold part moves now and then (a minute of the durable cache).
                let coldMoves = !long || Int.random(in: 0..<4, using: &rng) == 0
                if coldMoves { cold = Self.mutated(cold, keys: keys, stats: stats, changes: changes, rng: &rng) }
                if long { tail = Self.mutated(tail!, keys: keys, stats: stats, changes: changes, rng: &rng) }
                if step % 4 == 3 { tail?.jobs = ExpositionWriterTests.window(&rng, series: 20).jobs }
                var changed = ChangedSeries()
                changed.keys = Self.differing(oldCold, cold).union(Self.differing(oldTail ?? .init(), tail ?? .init()))
                // Series named that did not change are rendered again, the same.
                for _ in 0..<3 { changed.keys.insert(keys.randomElement(using: &rng)!) }
                let fresh = try #require(
                    WindowBlocks(
                        windowMs: w, cold: cold, tail: tail, coldServices: long ? ServiceSums.of(cold) : nil,
                        quantiles: quantiles, order: order))
                let sameCold = !long || !coldMoves
                guard
                    let updated = WindowBlocks.updated(
                        last, order: order, windowMs: w, cold: cold, tail: tail, sameCold: sameCold, changed: changed)
                else {
                    // Only a long window's moved cold part (which the last render does not keep) starts over.
                    #expect(long && coldMoves, "seed \(seed) step \(step)")
                    last = fresh
                    continue
                }
                #expect(updated.blocks == fresh.blocks, "seed \(seed) long \(long) step \(step)")
                withExtendedLifetime(between) {}
                if updated.blocks != fresh.blocks { return }
                updates += 1
                // Chains of updates, and updates of renders in parts.
                last =
                    step % 5 == 4
                    ? try #require(
                        await WindowBlocks.render(
                            windowMs: w, cold: cold, tail: tail, coldServices: long ? ServiceSums.of(cold) : nil,
                            quantiles: quantiles, order: order, parts: 3))
                    : updated
            }
            #expect(grown > 3)
            // Not from a render with another order, nor when everything (or too much) changed.
            let other = SeriesOrder(keys: keys)
            #expect(
                WindowBlocks.updated(
                    last, order: other, windowMs: w, cold: cold, tail: tail, sameCold: true, changed: .init()) == nil)
            #expect(
                WindowBlocks.updated(
                    last, order: order, windowMs: w, cold: cold, tail: tail, sameCold: true,
                    changed: ChangedSeries(all: true)) == nil)
            #expect(
                WindowBlocks.updated(
                    last, order: order, windowMs: w, cold: cold, tail: tail, sameCold: true,
                    changed: ChangedSeries(keys: Set(keys)))
                    == nil)
            // Nor across a long window's two shapes (its parts, or read whole), nor over a cold part that moved.
            #expect(
                WindowBlocks.updated(
                    last, order: order, windowMs: w, cold: cold, tail: long ? nil : WindowData(), sameCold: true,
                    changed: .init()) == nil)
            if long {
                #expect(
                    WindowBlocks.updated(
                        last, order: order, windowMs: w, cold: cold, tail: tail, sameCold: false, changed: .init())
                        == nil)
            }
        }
        #expect(updates >= 16)
    }

    /// The cache renders a window's new version from its last render when told what changed, the same bytes as a
    /// render from scratch, and from scratch when it is not told.
    @Test func theCacheUpdatesFromTheLastRenderWhenToldWhatChanged() async throws {
        var rng = SplitMix64(seed: 21)
        let base: Int64 = 1_795_000_000_000
        var data = WindowData()
        data.merge(
            BatchAggregate(events: randomEvents(count: 300, baseMs: base, spanMs: 250_000, rng: &rng), rules: .init())
                .hot)
        var next = data
        next.merge(
            BatchAggregate(events: randomEvents(count: 3, baseMs: base, spanMs: 1_000, rng: &rng), rules: .init()).hot)
        let changed = ChangedSeries(keys: Self.differing(data, next))
        #expect(!changed.keys.isEmpty)
        let cache = ExpositionCache(keepFor: .seconds(60))
        func window(_ d: WindowData, _ v: UInt64) -> [(Int64, ExpositionCache.Window)] {
            [(300_000, ExpositionCache.Window(MetricsReader.Result(data: d, timeMs: base, version: .cached(v))))]
        }
        _ = await cache.blocks(window(data, 1), quantiles: [0.5, 0.99]) { _, _, _ in changed }
        #expect(cache.renders == 1 && cache.updates == 0)
        let asked = ManagedAtomicBox()
        let second = await cache.blocks(window(next, 2), quantiles: [0.5, 0.99]) { w, from, to in
            asked.set("\(w) \(from) \(to)")
            return changed
        }
        #expect(asked.value == "300000 cached(1) cached(2)")
        #expect(cache.renders == 2 && cache.updates == 1)
        let order = SeriesOrder(keys: Array(next.requests.keys))
        let fresh = try #require(WindowBlocks(windowMs: 300_000, data: next, quantiles: [0.5, 0.99], order: order))
        #expect(second[0].blocks == fresh.blocks)
        // Not told: rendered from scratch.
        let third = await cache.blocks(window(data, 3), quantiles: [0.5, 0.99]) { _, _, _ in nil }
        #expect(cache.renders == 3 && cache.updates == 1)
        let back = try #require(WindowBlocks(windowMs: 300_000, data: data, quantiles: [0.5, 0.99], order: order))
        #expect(third[0].blocks == back.blocks)
    }

    /// Random commits (recent, late, a little in the future) and time steps: between any two versions read, every
    /// series whose sums differ is among those the log names (or the log names all), for every window and the tail.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func theChangeLogNamesEverySeriesThatChanged(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let clock = ManualClock(1_795_000_003_456)
        var configuration = WindowCache.Configuration(windowsMs: WindowCacheTests.windows)
        configuration.keepsTail = true
        let cache = WindowCache(
            configuration: configuration, feed: store, logger: Logger(label: "test"), now: { clock.now })
        var position: UInt64 = 0
        func commit(_ events: [Event]) async throws {
            position += 1
            try await store.commit(
                BatchAggregate(events: events, rules: .init()).hot, position: position, collector: "c")
        }
        try await commit(randomEvents(count: 400, baseMs: clock.now, spanMs: 4_000_000, rng: &rng))
        let keys = WindowCacheTests.windows + [WindowCache.tailKey]
        func read() async throws -> [Int64: WindowCache.Snapshot] {
            var out: [Int64: WindowCache.Snapshot] = [:]
            for w in WindowCacheTests.windows { out[w] = try #require(try await cache.snapshot(w)) }
            out[WindowCache.tailKey] = try #require(try await cache.tail())
            return out
        }
        var history = [try await read()]
        // The first question starts the log: nothing noted before it.
        #expect(await cache.changedSeries(60_000, after: 0, through: history[0][60_000]!.version) == nil)
        var (answered, partial) = (0, 0)
        for step in 0..<80 {
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                let late = Int.random(in: 0..<4, using: &rng) == 0
                let base = clock.now + (Int.random(in: 0..<5, using: &rng) == 0 ? 12_000 : 0)
                try await commit(
                    randomEvents(
                        count: Int.random(in: 1...30, using: &rng), baseMs: base, spanMs: late ? 4_200_000 : 15_000,
                        rng: &rng))
            }
            switch Int.random(in: 0..<25, using: &rng) {
            case 0: clock.advance(Int64.random(in: 320_000...900_000, using: &rng))  // a rebuild
            case 1: store.trimFeed(keeping: 0)  // a gap: a rebuild
            default: clock.advance(Int64.random(in: 0...25_000, using: &rng))
            }
            let now = try await read()
            for back in [1, 3] where history.count >= back {
                let then = history[history.count - back]
                for w in keys {
                    let (a, b) = (then[w]!, now[w]!)
                    guard let changed = await cache.changedSeries(w, after: a.version, through: b.version) else {
                        continue
                    }
                    answered += 1
                    if changed.all { continue }
                    partial += 1
                    let missed = Self.differing(a.data, b.data).subtracting(changed.keys)
                    #expect(
                        missed.isEmpty, "seed \(seed) step \(step) window \(w) \(back) back: \(missed.count) missed")
                }
            }
            history.append(now)
        }
        // Most questions are answered, and with the series named rather than "all".
        #expect(answered > 300 && partial > 250, "\(answered) answered, \(partial) by name")
    }
}

/// A string set from a `@Sendable` closure.
private final class ManagedAtomicBox: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func set(_ s: String) { lock.withLock { text = s } }
    var value: String { lock.withLock { text } }
}
