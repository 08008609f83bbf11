import Collector
import Foundation
import Logging
import OpsightMetrics
import PostgresNIO
import PostgresURL
import PromQL
import QueryModel
import Storage
import Synchronization
import Testing

private let env = ProcessInfo.processInfo.environment
private let storesAvailable = env["OPSIGHT_TEST_REDIS_URL"] != nil && env["OPSIGHT_TEST_DATABASE_URL"] != nil

/// The funnel step log of the Redis hot store and ``FunnelCache`` over it, against the real Redis and PostgreSQL: two
/// collectors (each with its own Redis connection) commit random records, out of order, late by up to a day and
/// older than the cache's horizon; the hot store is rebuilt under another epoch, wiped as by a restart without
/// persistence, and its log trimmed past the cache's cursor — after every step the cached figures equal those read
/// from the stores.
@Suite(
    .enabled(if: storesAvailable, "needs OPSIGHT_TEST_REDIS_URL and OPSIGHT_TEST_DATABASE_URL (make test sets them)"))
struct FunnelCacheStoreTests {
    let logger = Logger(label: "test")

    final class Clock: Sendable {
        private let ms: Mutex<Int64>
        init(_ ms: Int64) { self.ms = Mutex(ms) }
        var now: Int64 { ms.withLock { $0 } }
        func advance(_ by: Int64) { ms.withLock { $0 += by } }
    }

    static let funnels = [
        FunnelDefinition(
            name: "journey", windowMs: 3_600_000,
            steps: ["document_uploaded", "assessment_requested", "report_viewed"].map {
                FunnelStep(name: $0, matcher: .event($0))
            }),
        FunnelDefinition(
            name: "activation", windowMs: 86_400_000,
            steps: ["signed_up", "document_uploaded", "report_viewed", "report_shared"].map {
                FunnelStep(name: $0, matcher: .event($0))
            }),
    ]
    static let windows: [Int64] = [60_000, 300_000, 3_600_000, 21_600_000, 86_400_000]
    static let horizonMs: Int64 = 86_400_000
    static let slackMs: Int64 = 1_800_000

    static func records(_ n: Int, now: Int64, rng: inout SplitMix64) -> [FunnelStepRecord] {
        (0..<n).map { _ in
            let f = funnels.randomElement(using: &rng)!
            let age: Int64 =
                switch Int.random(in: 0..<100, using: &rng) {
                case 0..<70: Int64.random(in: -5_000..<120_000, using: &rng)
                case 70..<85: Int64.random(in: 0..<3_600_000, using: &rng)
                case 85..<96: Int64.random(in: 0..<horizonMs, using: &rng)
                default: horizonMs + slackMs + Int64.random(in: 0..<7_200_000, using: &rng)
                }
            // Entities with the log's separators and non-ASCII text in them.
            let entity = ["user-\(Int.random(in: 0..<80, using: &rng))", "a:1\u{1f}b", "é:2:"].randomElement(
                using: &rng)!
            return FunnelStepRecord(
                funnel: f.storageName, step: Int.random(in: 0..<f.steps.count, using: &rng), entity: entity,
                timestampMs: now - age)
        }
    }

    static func normalized(_ figures: [FunnelReader.Figures]) -> [String] {
        figures.map { f in
            "\(f.funnel.name) \(f.windowMs)ms at \(f.timeMs): entered \(f.result.entered), reached \(f.result.reached), "
                + "converted in \(f.result.timesToConvertMs.sorted())"
        }
    }

    @Test func cachedFiguresEqualTheStoresAcrossTwoWritersLateRecordsRebuildsAndWipes() async throws {
        let url = try PostgresURL(env["OPSIGHT_TEST_DATABASE_URL"]!)
        let pg = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pg.run() }
            defer { group.cancelAll() }
            let schema = "test_fcache_\(UUID().uuidString.prefix(8).lowercased())"
            try await Migrations.migrate(client: pg, schema: schema, logger: logger)
            let prefix = "test_fcache_\(UUID().uuidString.prefix(8).lowercased())"
            let redisURL = try RedisURL(env["OPSIGHT_TEST_REDIS_URL"]!)
            let clients = (0..<3).map { _ in RedisClient(url: redisURL) }
            defer { for c in clients { c.shutdown() } }
            do {
                try await run(pg: pg, schema: schema, prefix: prefix, clients: clients)
            } catch {
                try? await cleanUp(pg: pg, schema: schema, prefix: prefix, redis: clients[0])
                throw error
            }
            try await cleanUp(pg: pg, schema: schema, prefix: prefix, redis: clients[0])
        }
    }

    private func cleanUp(pg: PostgresClient, schema: String, prefix: String, redis: RedisClient) async throws {
        try await pg.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE")
        try await wipeRedisKeys(redis, prefix: prefix)
    }

    private func run(pg: PostgresClient, schema: String, prefix: String, clients: [RedisClient]) async throws {
        var rng = SplitMix64(seed: 15)
        let clock = Clock(Int64(Date().timeIntervalSince1970 * 1000))
        let wall = WallClock { [clock] in clock.now }
        let durable = PostgresDurableStore(client: pg, configuration: .init(schema: schema), logger: logger)
        func hot(_ client: RedisClient, logLength: Int64 = 10_000) -> RedisHotStore {
            var c = RedisHotStore.Configuration(keyPrefix: prefix)
            c.funnelLogLength = logLength
            return RedisHotStore(client: client, configuration: c, clock: wall)
        }
        let writers = [hot(clients[0]), hot(clients[1])]
        let readHot = hot(clients[2])
        let plain = FunnelReader(funnels: Self.funnels, hot: readHot, durable: durable, clock: wall)
        let cache = FunnelCache(
            configuration: .init(horizonMs: Self.horizonMs, slackMs: Self.slackMs, resyncInterval: nil), reader: plain,
            feed: readHot, logger: logger, now: { [clock] in clock.now })
        let cached = plain.cached(by: cache)
        var positions = [UInt64](repeating: 0, count: 2)

        func commit(_ n: Int, writer w: Int) async throws {
            var delta = Delta()
            delta.funnelSteps = Set(Self.records(n, now: clock.now, rng: &rng))
            positions[w] += 1
            try await writers[w].commit(delta, position: positions[w], collector: "w\(w)")
            try await durable.commit(delta, position: positions[w], collector: "w\(w)")
        }
        func expectEqual(_ what: String) async throws {
            let now = clock.now
            for time: EvaluationTime in [.now(now), .at(now - Int64.random(in: 0..<2_400_000, using: &rng))] {
                for funnel in Self.funnels {
                    let want = try await plain.figures(funnel, windowsMs: Self.windows, at: time)
                    let got = try await cached.figures(funnel, windowsMs: Self.windows, at: time)
                    #expect(Self.normalized(got) == Self.normalized(want), "\(what): \(funnel.name) at \(time)")
                    #expect(want.contains { $0.result.entered > 0 }, "\(what): \(funnel.name) has entities")
                }
            }
        }
        /// A rebuild under a new epoch, as ``HotStoreRecovery`` does: lock, clear, load the hot range from PostgreSQL.
        func rebuild(_ epoch: String) async throws {
            #expect(try await readHot.lockRebuild(epoch: epoch, holder: "test", ttlMs: 30_000))
            try await readHot.clearForRebuild(epoch: epoch)
            var delta = Delta()
            for f in Self.funnels {
                delta.funnelSteps.formUnion(
                    try await durable.funnelSteps(
                        funnel: f.storageName, afterMs: clock.now - 4_500_000, throughMs: .max))
            }
            try await readHot.loadForRebuild(delta, epoch: epoch, ttlMs: 30_000)
            #expect(try await readHot.finishRebuild(epoch: epoch, positions: ["w0": positions[0], "w1": positions[1]]))
        }

        try await rebuild("e1")
        for _ in 0..<12 {
            try await commit(40, writer: Int.random(in: 0..<2, using: &rng))
            clock.advance(Int64.random(in: 1_000..<900_000, using: &rng))
        }
        try await expectEqual("first load")
        #expect(await cache.loads == 1)
        for round in 0..<30 {
            // Both writers at once, on their own connections.
            try await commit(Int.random(in: 1..<25, using: &rng), writer: 0)
            try await commit(Int.random(in: 1..<25, using: &rng), writer: 1)
            clock.advance(round % 10 == 9 ? 1_000_000 : Int64.random(in: 0..<15_000, using: &rng))
            try await expectEqual("round \(round)")
        }
        #expect(await cache.loads == 1)
        #expect(await cache.recordsFollowed > 500)

        // Another collector's cache loading while late records are in the hot store's log (and dropped from its
        // sorted sets, being older than it keeps) but not yet in PostgreSQL, whose flush comes seconds later.
        var late = Delta()
        late.funnelSteps = Set(
            (0..<30).map { i in
                FunnelStepRecord(
                    funnel: Self.funnels[i % 2].storageName, step: 0, entity: "late-\(i)",
                    timestampMs: clock.now - 10_000_000 - Int64(i) * 60_000)
            })
        positions[1] += 1
        try await writers[1].commit(late, position: positions[1], collector: "w1")
        let second = FunnelCache(
            configuration: .init(horizonMs: Self.horizonMs, slackMs: Self.slackMs, resyncInterval: nil), reader: plain,
            feed: readHot, logger: logger, now: { [clock] in clock.now })
        try await second.refresh()
        try await durable.commit(late, position: positions[1], collector: "w1")
        for funnel in Self.funnels {
            let want = try await plain.figures(funnel, windowsMs: Self.windows, at: .now(clock.now))
            let got = try await plain.cached(by: second).figures(funnel, windowsMs: Self.windows, at: .now(clock.now))
            #expect(Self.normalized(got) == Self.normalized(want), "a cache loaded before PostgreSQL's flush")
        }

        // Rebuilt under another epoch (the log and its count are cleared with everything else).
        try await rebuild("e2")
        try await commit(10, writer: 0)
        try await expectEqual("after the rebuild")
        #expect(await cache.loads == 2)

        // Wiped, as a Redis restarted without persistence, and written again before the cache looks: the cache
        // must not take the new entries for the ones after its cursor. (The uncached reader sees the wipe too.)
        try await wipeRedisKeys(clients[0], prefix: prefix)
        try await commit(10, writer: 1)
        try await expectEqual("after a wipe")
        #expect(await cache.loads == 3)

        // The log trimmed past the cache's cursor (`MAXLEN ~` trims whole nodes of 100 entries).
        let short = hot(clients[0], logLength: 1)
        for _ in 0..<250 {
            var delta = Delta()
            delta.funnelSteps = Set(Self.records(1, now: clock.now, rng: &rng))
            positions[0] += 1
            try await short.commit(delta, position: positions[0], collector: "w0")
            try await durable.commit(delta, position: positions[0], collector: "w0")
        }
        try await expectEqual("after the log was trimmed")
        #expect(await cache.loads == 4)
        try await commit(5, writer: 0)
        try await expectEqual("following the trimmed log")
        #expect(await cache.loads == 4)
    }
}
