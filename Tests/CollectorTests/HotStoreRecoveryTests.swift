import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import Synchronization
import Testing

@testable import Collector

/// A hot store that forgets everything (issue 14), with two collectors sharing it and the durable store (in memory
/// here; the end-to-end test restarts a real Redis): the loss is noticed, exactly one collector loads the durable
/// store's snapshot, each replays its own records after its durable position, and the hot store ends up holding
/// exactly what was acknowledged.
@Suite struct HotStoreRecoveryTests {
    static let base: Int64 = 1_795_000_000_000

    struct Collector {
        var runtime: CollectorRuntime
        var flusher: Flusher
    }

    func open(
        _ dir: String, _ hot: InMemoryMetricsStore, _ durable: InMemoryMetricsStore, segmentBytes: Int = 64 << 20,
        checkInterval: Duration = .seconds(2), epochSource: (any HotEpochSource)? = nil,
        logger: Logger = Logger(label: "test")
    ) async throws -> Collector {
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir, segmentBytes: segmentBytes), ingest: .init(decoder: .init(maxAgeMs: .max / 4)),
            hot: hot, durable: durable,
            logger: logger)
        let recovery = HotStoreRecovery(
            configuration: .init(hotRetentionMs: .max / 8, jobFactRetentionMs: .max / 8, checkInterval: checkInterval),
            hot: hot, durable: epochSource ?? durable,
            aggregator: runtime.aggregator, status: runtime.status, collectorID: runtime.collectorID,
            epoch: runtime.hotEpoch, logger: logger, clock: WallClock { Self.base })
        let flusher = Flusher(
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status, recovery: recovery, logger: logger)
        return Collector(runtime: runtime, flusher: flusher)
    }

    /// Flushes every collector until all are done (a loss takes a flush to notice and one to repair).
    func settle(_ collectors: [Collector]) async {
        for _ in 0..<10 {
            var done = true
            for c in collectors where !(await c.flusher.flushNow()) { done = false }
            if done { return }
        }
        Issue.record("the collectors did not settle")
    }

    @Test(arguments: [1, 2] as [UInt64])
    func aHotStoreThatForgotEverythingIsRebuiltOnceAndExactly(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let dirs = [temporaryDirectory(), temporaryDirectory()]
        defer { for d in dirs { try? FileManager.default.removeItem(atPath: d) } }
        let collectors = [try await open(dirs[0], hot, durable), try await open(dirs[1], hot, durable)]
        defer { for c in collectors { c.runtime.commitLog.shutdown() } }
        var batches: [[Event]] = []
        func ingest(_ n: Int) async throws {
            for _ in 0..<n {
                let events = randomEvents(count: 100, baseMs: Self.base, spanMs: 3_000_000, rng: &rng)
                let c = collectors[Int.random(in: 0..<2, using: &rng)]
                #expect(try await c.runtime.pipeline.ingest(ndjson(events), nowMs: Self.base).accepted == 100)
                batches.append(events)
                if Bool.random(using: &rng) { _ = await c.flusher.flushNow() }
            }
        }
        // A first start finds no epoch anywhere: one collector builds the first one (from an empty durable store).
        // That is no loss: neither the rebuild counters nor the metric count it.
        try await ingest(10)
        await settle(collectors)
        let led = collectors.map { $0.runtime.status.hotRebuildsLed.load(ordering: .relaxed) }
        #expect(led.reduce(0, +) == 0, "the first epoch is not a rebuild: \(led)")
        #expect(collectors.allSatisfy { $0.runtime.status.hotRebuilds.load(ordering: .relaxed) == 0 })
        let first = try #require(collectors[0].runtime.status.hotEpoch.withLock { $0 })
        #expect(collectors[1].runtime.status.hotEpoch.withLock { $0 } == first)

        // The store forgets everything while the collectors keep ingesting, some of it not yet durable.
        try await ingest(10)
        hot.loseEverything()
        try await ingest(10)
        await settle(collectors)
        let ledAfter = collectors.map { $0.runtime.status.hotRebuildsLed.load(ordering: .relaxed) }
        #expect(ledAfter.reduce(0, +) == 1, "exactly one collector loaded the snapshot: \(ledAfter)")
        let second = try #require(collectors[0].runtime.status.hotEpoch.withLock { $0 })
        #expect(second != first)
        #expect(collectors[1].runtime.status.hotEpoch.withLock { $0 } == second)
        for c in collectors {
            #expect(c.runtime.status.hotState == .ok)
            #expect(c.runtime.status.hotRebuilds.load(ordering: .relaxed) == 1)
        }

        // Sums over every bucket: the rebuilt part sits at the minute's last bucket, the replayed part at its own.
        let oracle = try await storeOracle(batches)
        let all = Int64.min...Int64.max
        #expect(try await hot.read(service: nil, buckets: all) == oracle.hot)
        #expect(try await durable.read(service: nil, buckets: all) == oracle.durable)
    }

    /// A collector that took a new epoch from the durable store while that epoch's rebuild was still setting the hot
    /// store's epoch (on a Redis Cluster: flipping every slot's copy, about a second) waits without calling it a loss,
    /// and is `ok` once the rebuild is done. It used to mark itself `lost` there and stay so for good (`/readyz` 503).
    @Test func aCollectorThatTookANewEpochBeforeItsRebuildFinishedIsNotLeftLost() async throws {
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Looks at the store at every flush, as it would when prompted.
        let c = try await open(dir, hot, durable, checkInterval: .zero)
        defer { c.runtime.commitLog.shutdown() }
        var rng = SplitMix64(seed: 5)
        let events = randomEvents(count: 50, baseMs: Self.base, spanMs: 600_000, rng: &rng)
        _ = try await c.runtime.pipeline.ingest(ndjson(events), nowMs: Self.base)
        await settle([c])
        #expect(c.runtime.status.hotState == .ok)

        // Another collector rebuilds: it holds the lock and recorded epoch e2 in the durable store, and has not yet
        // set it in the hot store.
        #expect(try await hot.lockRebuild(epoch: "e2", holder: "other", ttlMs: 60_000))
        let positions = try await durable.startHotEpoch(
            "e2", minutes: 0...0, funnelStepsAfterMs: 0, jobFactsAfterMs: 0, sink: { _ in })
        for _ in 0..<3 { _ = await c.flusher.flushNow() }
        #expect(c.runtime.status.hotEpoch.withLock { $0 } == "e2")
        #expect(c.runtime.status.hotState != .lost, "the rebuild of the epoch it took is finishing: no loss")

        #expect(try await hot.finishRebuild(epoch: "e2", positions: positions))
        await settle([c])
        #expect(c.runtime.status.hotState == .ok)
        // The first epoch (a new installation) is not counted; taking e2 is.
        #expect(c.runtime.status.hotRebuilds.load(ordering: .relaxed) == 1)
    }

    /// A rebuild that fails (here the durable store refuses to start the epoch, as PostgreSQL might) is said at
    /// warning with its error, leaves the collector `lost` (not ready), not `rebuilding` or `ok`; the next check
    /// rebuilds again, and once that succeeds the hot store holds exactly what was acknowledged.
    @Test func aRebuildThatFailsIsLoggedAndTriedAgain() async throws {
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let source = RebuildRefusingSource(durable)
        let logs = LogRecorder()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = try await open(
            dir, hot, durable, checkInterval: .zero, epochSource: source,
            logger: Logger(label: "test") { _ in RecordingLogHandler(recorder: logs) })
        defer { c.runtime.commitLog.shutdown() }
        var rng = SplitMix64(seed: 11)
        var batches: [[Event]] = []
        for _ in 0..<3 {
            let events = randomEvents(count: 50, baseMs: Self.base, spanMs: 600_000, rng: &rng)
            _ = try await c.runtime.pipeline.ingest(ndjson(events), nowMs: Self.base)
            batches.append(events)
        }
        await settle([c])
        #expect(c.runtime.status.hotState == .ok)

        hot.loseEverything()
        source.refusing.store(true, ordering: .relaxed)
        for _ in 0..<3 { _ = await c.flusher.flushNow() }
        #expect(c.runtime.status.hotState == .lost, "a failed rebuild leaves the collector lost")
        let failures = logs.entries.withLock { entries in
            entries.filter {
                $0.level == .warning && $0.message == "rebuilding the hot store failed; the next check tries again"
            }
        }
        #expect(!failures.isEmpty, "the failed rebuild is logged at warning")
        #expect(failures.first?.metadata["error"].map { "\($0)".contains("refuses to start a hot epoch") } == true)
        #expect(c.runtime.status.hotRebuildsLed.load(ordering: .relaxed) == 0)

        source.refusing.store(false, ordering: .relaxed)
        await settle([c])
        #expect(c.runtime.status.hotState == .ok)
        #expect(c.runtime.status.hotRebuildsLed.load(ordering: .relaxed) == 1)
        let oracle = try await storeOracle(batches)
        #expect(try await hot.read(service: nil, buckets: Int64.min...Int64.max) == oracle.hot)
    }

    @Test func aStoreBehindTheLogsStartIsNoticedAtStart() async throws {
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SplitMix64(seed: 9)
        var batches: [[Event]] = []
        do {
            // Small segments, so that the log is trimmed as the stores take it.
            let c = try await open(dir, hot, durable, segmentBytes: 2_048)
            for _ in 0..<5 {
                let events = randomEvents(count: 50, baseMs: Self.base, spanMs: 600_000, rng: &rng)
                _ = try await c.runtime.pipeline.ingest(ndjson(events), nowMs: Self.base)
                batches.append(events)
            }
            await settle([c])
            c.runtime.commitLog.shutdown()
            c.runtime.wal.close()
        }
        // A failover to a replica that lacks the last writes, while the collector was down: the epoch is there,
        // this collector's data and position are not.
        let epoch = try #require(try await hot.epochState(collector: "x").epoch)
        hot.loseEverything()
        #expect(try await hot.lockRebuild(epoch: epoch, holder: "test", ttlMs: 60_000))
        #expect(try await hot.finishRebuild(epoch: epoch, positions: [:]))
        let c = try await open(dir, hot, durable, segmentBytes: 2_048)
        #expect(c.runtime.wal.startPosition > 0, "the log was trimmed")
        defer { c.runtime.commitLog.shutdown() }
        await settle([c])
        #expect(c.runtime.status.hotRebuilds.load(ordering: .relaxed) == 1)
        let oracle = try await storeOracle(batches)
        #expect(try await hot.read(service: nil, buckets: Int64.min...Int64.max) == oracle.hot)
    }
}

/// `/readyz` and status tell a hot store that lost its data from one that holds it.
@Suite struct HotStoreReadinessTests {
    @Test(arguments: [(HotStoreState.ok, "ok"), (.lost, "lost its data; rebuild pending"), (.rebuilding, "rebuilding")])
    func readinessNamesTheHotStoresState(state: HotStoreState, check: String) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: .init(), hot: store, durable: store, logger: Logger(label: "test"))
        defer { runtime.commitLog.shutdown() }
        runtime.status.hotStoreState.store(state.rawValue, ordering: .relaxed)
        let r = runtime.pipeline.readiness(hotReachable: true, durableReachable: true)
        #expect(r.checks["redis"] == check)
        #expect(r.ready == (state == .ok))
        #expect(r.ingestReady, "a hot store being repaired does not stop ingest: the log holds it")
    }
}

/// The durable store's side of a rebuild, refusing to start a hot epoch while `refusing` is set.
final class RebuildRefusingSource: HotEpochSource {
    let base: InMemoryMetricsStore
    let refusing = Atomic(false)

    init(_ base: InMemoryMetricsStore) { self.base = base }

    var bucketWidthMs: Int64 { base.bucketWidthMs }
    var retentionMs: Int64? { base.retentionMs }
    func committedPosition(collector: String) async throws -> UInt64 {
        try await base.committedPosition(collector: collector)
    }
    func commit(_ delta: Delta, position: UInt64, collector: String) async throws {
        try await base.commit(delta, position: position, collector: collector)
    }
    func commit(_ delta: Delta, position: UInt64, collector: String, hotEpoch: String?) async throws {
        try await base.commit(delta, position: position, collector: collector, hotEpoch: hotEpoch)
    }
    func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData {
        try await base.read(service: service, buckets: buckets)
    }
    func services() async throws -> [String] { try await base.services() }
    func ping() async throws { try await base.ping() }
    func hotEpoch() async throws -> HotEpochRecord? { try await base.hotEpoch() }
    func startHotEpoch(
        _ epoch: String, minutes: ClosedRange<Int64>, funnelStepsAfterMs: Int64, jobFactsAfterMs: Int64,
        sink: @Sendable (Delta) async throws -> Void
    ) async throws -> [String: UInt64] {
        if refusing.load(ordering: .relaxed) {
            throw CollectorError(.store, "the durable store refuses to start a hot epoch (test)")
        }
        return try await base.startHotEpoch(
            epoch, minutes: minutes, funnelStepsAfterMs: funnelStepsAfterMs, jobFactsAfterMs: jobFactsAfterMs,
            sink: sink)
    }
}

/// Every entry logged through ``RecordingLogHandler``.
final class LogRecorder: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }
    let entries = Mutex<[Entry]>([])
}

/// A swift-log handler that keeps what it is given, for tests of what is said at which level.
struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        let all = self.metadata.merging(metadata ?? [:]) { $1 }
        recorder.entries.withLock { $0.append(.init(level: level, message: message.description, metadata: all)) }
    }
}
