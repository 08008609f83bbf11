import Collector
import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import PostgresNIO
import QueryModel
import Storage
import Synchronization
import Testing

private let env = ProcessInfo.processInfo.environment

/// The window cache over PostgreSQL's minutes (windows over an hour, issue 15) against the real database: two
/// collectors commit random rollups — current, lagging by minutes, late by up to a day, a little in the future —
/// while compactions rewrite the older minutes, and the clock steps by seconds, minutes and more than the cache steps.
/// After every step each cached window equals the sum of the same minutes read from the store; one collector commits
/// through the store the cache polls (``OwnRollups``), the other through its own.
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct DurableWindowCacheTests {
    let logger = Logger(label: "test")
    static let windows: [Int64] = [7_200_000, 21_600_000, 86_400_000]

    final class Clock: Sendable {
        private let ms: Mutex<Int64>
        init(_ ms: Int64) { self.ms = Mutex(ms) }
        var now: Int64 { ms.withLock { $0 } }
        func advance(_ by: Int64) { ms.withLock { $0 += by } }
    }

    @Test(arguments: [1, 2] as [UInt64])
    func cachedWindowsEqualTheStoreAcrossTwoWritersLateRowsAndCompactions(seed: UInt64) async throws {
        try await withMigratedSchema(prefix: "test_dwc") { pg, schema in
            try await run(pg: pg, schema: schema, seed: seed)
        }
    }

    private func run(pg: PostgresClient, schema: String, seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        // Other commits' rows come back in parts of a few rows (each a delta of the change), as a shipment's do.
        let durable = PostgresDurableStore(
            client: pg, configuration: .init(schema: schema, changeRowsPerPart: 7), logger: logger)
        // c1 commits through the store the cache polls (its cells taken from memory), c2 through another (its rows
        // read back).
        let other = PostgresDurableStore(client: pg, configuration: .init(schema: schema), logger: logger)
        let clock = Clock(WallClock.system.nowMs())
        let cache = WindowCache(
            configuration: .durable(windowsMs: Self.windows), feed: durable, logger: logger, now: { clock.now })
        var positions: [String: UInt64] = ["c1": 0, "c2": 0]
        func commit(count: Int, spanMs: Int64, aheadMs: Int64 = 0) async throws {
            let collector = ["c1", "c2"].randomElement(using: &rng)!
            positions[collector]! += UInt64.random(in: 1...5_000, using: &rng)
            let events = randomEvents(count: count, baseMs: clock.now + aheadMs, spanMs: spanMs, rng: &rng)
            let batch = BatchAggregate(events: events, rules: .init())
            try await (collector == "c1" ? durable : other).commit(
                batch.durable, position: positions[collector]!, collector: collector)
        }
        func check(_ label: String) async throws -> Bool {
            let k = TimeBucket.index(ofMs: clock.now, widthMs: TimeBucket.durableWidthMs)
            for w in Self.windows {
                let cached = try #require(try await cache.snapshot(w))
                #expect(cached.newest == k - 2)
                let want = try await durable.read(service: nil, buckets: (k - w / 60_000 + 1)...(k - 2))
                #expect(cached.data == want, "seed \(seed) \(label) window \(w)")
                if cached.data != want { return false }
            }
            return true
        }
        // A day of rows before the cache first looks.
        for _ in 0..<6 { try await commit(count: 200, spanMs: 90_000_000) }
        guard try await check("first look") else { return }
        var compactedThrough = TimeBucket.index(ofMs: clock.now, widthMs: TimeBucket.durableWidthMs) - 1_440
        for step in 0..<50 {
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                switch Int.random(in: 0..<8, using: &rng) {
                case 0: try await commit(count: 20, spanMs: 86_000_000)  // late by up to a day
                case 1: try await commit(count: 20, spanMs: 200_000)  // a flush lagging by minutes
                case 2: try await commit(count: 5, spanMs: 1_000, aheadMs: 90_000)  // a clock ahead
                default: try await commit(count: Int.random(in: 1...30, using: &rng), spanMs: 20_000)
                }
            }
            if Int.random(in: 0..<4, using: &rng) == 0 {
                // As the flusher does: minutes up to three back, each once (a first pass covers a day).
                let upTo = TimeBucket.index(ofMs: clock.now, widthMs: TimeBucket.durableWidthMs) - 3
                if upTo > compactedThrough {
                    try await durable.compact(buckets: (compactedThrough + 1)...upTo)
                    compactedThrough = upTo
                }
            }
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: clock.advance(Int64.random(in: 700_000...1_500_000, using: &rng))  // past the cache's steps
            case 1, 2: clock.advance(Int64.random(in: 60_000...300_000, using: &rng))
            default: clock.advance(Int64.random(in: 0...40_000, using: &rng))
            }
            guard try await check("step \(step)") else { return }
        }
        print("durable window cache, seed \(seed): \(await cache.rebuilds) rebuilds over 50 steps")
    }
}
