import Collector
import Foundation
import Logging
import OpsightMetrics
import PostgresNIO
import PostgresURL
import Storage
import Synchronization
import Testing

private let env = ProcessInfo.processInfo.environment
private let storesAvailable = env["OPSIGHT_TEST_REDIS_URL"] != nil && env["OPSIGHT_TEST_DATABASE_URL"] != nil

/// The real stores' parts in issue 14: Redis guarded commits and the rebuild lock, PostgreSQL's epoch fence, and queue
/// wait pairing that stays exact when several writers commit facts of the same jobs at once.
@Suite(.enabled(if: storesAvailable, "needs OPSIGHT_TEST_REDIS_URL and OPSIGHT_TEST_DATABASE_URL (make test sets them)"))
struct HotEpochStoreTests {
    let logger = Logger(label: "test")

    func redis(_ prefix: String) throws -> (RedisHotStore, RedisClient) {
        let client = RedisClient(url: try RedisURL(env["OPSIGHT_TEST_REDIS_URL"]!))
        return (RedisHotStore(client: client, configuration: .init(keyPrefix: prefix)), client)
    }

    /// Facts of 150 jobs with retries, as deltas of a few facts each, in shuffled order, and the oracle's waits.
    static func factDeltas(seed: UInt64) -> (deltas: [Delta], waits: [Int64]) {
        var rng = SplitMix64(seed: seed)
        var facts: [JobFact] = []
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for j in 0..<150 {
            var t = now - 2_000_000 + Int64.random(in: 0..<1_000_000, using: &rng)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                facts.append(.enqueued(service: "svc", jobID: "\(j)", timestampMs: t))
                t += Int64.random(in: 1..<60_000, using: &rng)
                facts.append(.started(service: "svc", jobID: "\(j)", timestampMs: t, queue: "q", job: "j"))
                t += Int64.random(in: 1..<10_000, using: &rng)
            }
        }
        let waits = Dictionary(grouping: facts, by: \.identity).values.flatMap { QueueWaitPairing.samples(of: $0) }
            .map(\.waitMs)
        facts.shuffle(using: &rng)
        var deltas: [Delta] = []
        var i = 0
        while i < facts.count {
            var d = Delta()
            let n = Int.random(in: 1...6, using: &rng)
            d.jobFacts = Set(facts[i..<min(i + n, facts.count)])
            deltas.append(d)
            i += n
        }
        return (deltas, waits)
    }

    /// The hot buckets the facts' starts fall in (a read names every bucket it asks for).
    static var hotBuckets: ClosedRange<Int64> {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return TimeBucket.index(ofMs: now - 2_100_000, widthMs: 10_000)...TimeBucket.index(ofMs: now, widthMs: 10_000)
    }

    static func wait(_ data: WindowData) -> LogSketch { data.jobs[JobKey(service: "svc", queue: "q", job: "j")]?.queueWait ?? LogSketch() }

    static func sketch(_ waits: [Int64]) -> LogSketch {
        var s = LogSketch()
        for w in waits { s.add(Double(w)) }
        return s
    }

    @Test func writersCommittingFactsOfTheSameJobsAtOncePairEachWaitOnce() async throws {
        let prefix = "test_pair_\(UUID().uuidString.prefix(8).lowercased())"
        let (deltas, waits) = Self.factDeltas(seed: 3)
        // Four writers on their own connections, each committing a share of the deltas as fast as it can.
        let stores = try (0..<4).map { _ in try redis(prefix) }
        defer { for (_, c) in stores { c.shutdown() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (w, (store, _)) in stores.enumerated() {
                let mine = deltas.enumerated().filter { $0.offset % 4 == w }.map(\.element)
                group.addTask {
                    for (i, d) in mine.enumerated() {
                        try await store.commit(d, position: UInt64(i + 1), collector: "w\(w)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let got = try await stores[0].0.read(service: "svc", buckets: Self.hotBuckets)
        #expect(Self.wait(got) == Self.sketch(waits))
        // Committing every delta again (a replay) changes nothing.
        for (i, d) in deltas.enumerated() { try await stores[0].0.commit(d, position: UInt64(1_000 + i), collector: "r") }
        let again = try await stores[0].0.read(service: "svc", buckets: Self.hotBuckets)
        #expect(Self.wait(again) == Self.sketch(waits))
    }

    @Test func guardedCommitsTakeNothingFromAStoreThatLostItsEpochOrPosition() async throws {
        let prefix = "test_guard_\(UUID().uuidString.prefix(8).lowercased())"
        let (store, client) = try redis(prefix)
        defer { client.shutdown() }
        var one = Delta()
        var stats = RequestStats()
        stats.record(status: 200, durationMs: 3, isError: false)
        let bucket = TimeBucket.index(ofMs: Int64(Date().timeIntervalSince1970 * 1000), widthMs: TimeBucket.hotWidthMs)
        one.requests[Bucketed(RequestKey(service: "s", route: "/", method: "GET"), bucket: bucket)] = stats
        func count() async throws -> UInt64 {
            try await store.read(service: "s", buckets: bucket...bucket).requests.values.reduce(0) { $0 + $1.count }
        }
        // No epoch yet: refused.
        #expect(try await store.commit(one, position: 1, collector: "c", expecting: .init(epoch: "e1", position: 0)) != .committed)
        #expect(try await store.lockRebuild(epoch: "e1", holder: "c", ttlMs: 120_000))
        #expect(try await store.lockRebuild(epoch: "e2", holder: "d", ttlMs: 120_000) == false, "one rebuild at a time")
        #expect(try await store.epochState(collector: "c").rebuilding == "e1")
        try await store.loadForRebuild(one, epoch: "e1", ttlMs: 120_000)
        await #expect(throws: (any Error).self) { try await store.loadForRebuild(one, epoch: "e2", ttlMs: 120_000) }
        #expect(try await store.finishRebuild(epoch: "e1", positions: ["c": 10]))
        #expect(try await count() == 1)
        #expect(try await store.commit(one, position: 20, collector: "c", expecting: .init(epoch: "e1", position: 10)) == .committed)
        #expect(try await store.commit(one, position: 20, collector: "c", expecting: .init(epoch: "e1", position: 20)) == .alreadyHeld)
        // The position went back (a replica without the last write): refused.
        _ = try await client.command("SET", .string("\(prefix):wal:c"), "15")
        if case .lost = try await store.commit(one, position: 30, collector: "c", expecting: .init(epoch: "e1", position: 20)) {} else {
            Issue.record("a store behind the collector took its commit")
        }
        // Emptied: refused, and clearing leaves nothing.
        _ = try await client.command("DEL", .string("\(prefix):epoch"))
        if case .lost = try await store.commit(one, position: 30, collector: "c", expecting: .init(epoch: "e1", position: 15)) {} else {
            Issue.record("a store without its epoch took a commit")
        }
        #expect(try await count() == 2)
        #expect(try await store.lockRebuild(epoch: "e3", holder: "c", ttlMs: 120_000))
        try await store.clearForRebuild(epoch: "e3")
        #expect(try await count() == 0)
        try await store.releaseRebuild(epoch: "e3")
        #expect(try await store.epochState(collector: "c") == HotEpochState(epoch: nil, rebuilding: nil, position: 0))
    }

    @Test func aStartedEpochFencesOlderCommitsAndItsSnapshotHoldsExactlyWhatWasCommitted() async throws {
        let url = try PostgresURL(env["OPSIGHT_TEST_DATABASE_URL"]!)
        let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            let schema = "test_fence_\(UUID().uuidString.prefix(8).lowercased())"
            try await Migrations.migrate(client: client, schema: schema, logger: logger)
            defer { group.cancelAll() }
            let store = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
            let (deltas, waits) = Self.factDeltas(seed: 4)
            // Two writers pairing facts of the same jobs at once.
            try await withThrowingTaskGroup(of: Void.self) { writers in
                for w in 0..<2 {
                    let mine = deltas.enumerated().filter { $0.offset % 2 == w }.map(\.element)
                    writers.addTask {
                        for (i, d) in mine.enumerated() {
                            try await store.commit(d, position: UInt64(i + 1), collector: "w\(w)", hotEpoch: nil)
                        }
                    }
                }
                try await writers.waitForAll()
            }
            let all = Int64.min / 120_000...Int64.max / 120_000
            #expect(Self.wait(try await store.read(service: "svc", buckets: all)) == Self.sketch(waits))
            #expect(try await store.hotEpoch() == nil)

            let parts = Mutex<Delta>(Delta())
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let minutes = TimeBucket.index(ofMs: now - 4_000_000, widthMs: 60_000)...TimeBucket.index(ofMs: now, widthMs: 60_000)
            let positions = try await store.startHotEpoch(
                "e1", minutes: minutes, funnelStepsAfterMs: 0, jobFactsAfterMs: now - 90_000_000
            ) { part in parts.withLock { $0.merge(part) } }
            #expect(positions == ["w0": UInt64((deltas.count + 1) / 2), "w1": UInt64(deltas.count / 2)])
            #expect(try await store.hotEpoch() == HotEpochRecord(epoch: "e1", positions: positions))
            var snapshot = WindowData()
            parts.withLock { snapshot.merge($0) }
            #expect(Self.wait(snapshot) == Self.sketch(waits), "the snapshot holds the committed waits")
            #expect(parts.withLock { $0.jobFacts.count } == deltas.reduce(0) { $0 + $1.jobFacts.count })
            // A commit in the old epoch is refused and adds nothing; one in the new epoch goes in.
            await #expect(throws: HotEpochFenced.self) {
                try await store.commit(deltas[0], position: 999, collector: "w0", hotEpoch: nil)
            }
            #expect(try await store.committedPosition(collector: "w0") == positions["w0"])
            try await store.commit(Delta(), position: 999, collector: "w0", hotEpoch: "e1")
            #expect(try await store.committedPosition(collector: "w0") == 999)
            try await client.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE")
        }
    }
}
