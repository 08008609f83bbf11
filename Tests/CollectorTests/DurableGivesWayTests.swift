import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import Synchronization
import Testing

@testable import Collector

/// The durable flush gives way to a hot backlog (`Flusher.Configuration.durableYieldLimit`): while the hot lane holds
/// more than its growing chunk, durable commits wait, so a burst reaches the hot store (what reads at "now" serve)
/// first; but never past the limit, and never for a hot store that is failing. Both stores end up with exactly what
/// was ingested either way.
@Suite struct DurableGivesWayTests {
    static let base: Int64 = 1_795_000_000_000
    /// About 40 cells a chunk, four chunks a lane: a backlog of the last hour is mostly read back from the log.
    static let limits = Aggregator.Limits(chunkBytes: 40 * Delta.cellBytes, laneBytes: 4 * 40 * Delta.cellBytes)

    /// What the durable store saw: whether the hot lane had a backlog when each commit arrived.
    final class Observations: Sendable {
        let backlogAtCommit = Mutex<[Bool]>([])
        /// Whether the hot lane had a backlog at each call of the store's upkeep, what its `keepGoing` said then, and
        /// what it said after `duringTidy` ran (nil when it did not).
        let tidyCalls = Mutex<[(backlog: Bool, keepGoing: Bool, afterwards: Bool?)]>([])
        /// Run in the next call of the store's upkeep, once.
        let duringTidy = Mutex<(@Sendable () async -> Void)?>(nil)
        let hotBacklog = Mutex<(@Sendable () -> Bool)?>(nil)

        func backlogNow() -> Bool? { hotBacklog.withLock { $0 }?() }
    }

    /// A store that takes `delay` for every commit and notes what `seen` asks.
    static func store(bucketWidthMs: Int64, delay: Duration = .zero, seen: Observations) -> HookedMetricsStore {
        HookedMetricsStore(bucketWidthMs: bucketWidthMs) { _ in
            if let backlog = seen.backlogNow() { seen.backlogAtCommit.withLock { $0.append(backlog) } }
            if delay > .zero { try await Task.sleep(for: delay) }
        } onTidy: { keepGoing in
            guard let backlog = seen.backlogNow() else { return }
            let before = keepGoing()
            var afterwards: Bool?
            if let work = seen.duringTidy.withLock({ w in defer { w = nil }; return w }) {
                await work()
                afterwards = keepGoing()
            }
            seen.tidyCalls.withLock { $0.append((backlog, before, afterwards)) }
        }
    }

    struct Setup {
        var runtime: CollectorRuntime
        var flusher: Flusher
        var hot: HookedMetricsStore
        var durable: HookedMetricsStore
        /// What the durable store saw.
        var seen: Observations
        /// What the hot store saw.
        var hotSeen: Observations
        var batches: [[Event]]
    }

    /// A collector whose stores were away while 20 batches of the last hour arrived; the flusher is not running yet.
    func backlog(_ dir: String, hotDelay: Duration, yieldLimit: Duration, yieldBytes: UInt64 = 256 << 20) async throws
        -> Setup
    {
        let logger = Logger(label: "test")
        let seen = Observations()
        let hotSeen = Observations()
        let hot = Self.store(bucketWidthMs: TimeBucket.hotWidthMs, delay: hotDelay, seen: hotSeen)
        let durable = Self.store(bucketWidthMs: TimeBucket.durableWidthMs, seen: seen)
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: .init(decoder: .init(maxAgeMs: .max / 4)), hot: hot, durable: durable,
            limits: Self.limits, logger: logger)
        let flusher = Flusher(
            configuration: .init(
                hotInterval: .milliseconds(10), durableInterval: .milliseconds(10), retryInterval: .milliseconds(50),
                durableYieldLimit: yieldLimit, durableYieldBytes: yieldBytes),
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status, logger: logger)
        var rng = SplitMix64(seed: 7)
        var batches: [[Event]] = []
        for _ in 0..<20 {
            let events = randomEvents(count: 200, baseMs: Self.base, spanMs: 3_600_000, rng: &rng)
            #expect(try await runtime.pipeline.ingest(ndjson(events), nowMs: Self.base).accepted == 200)
            batches.append(events)
        }
        #expect(runtime.aggregator.hasBacklog(.hot), "the test needs a hot backlog to start with")
        let aggregator = runtime.aggregator
        seen.hotBacklog.withLock { $0 = { aggregator.hasBacklog(.hot) } }
        hotSeen.hotBacklog.withLock { $0 = { aggregator.hasBacklog(.hot) } }
        return Setup(
            runtime: runtime, flusher: flusher, hot: hot, durable: durable, seen: seen, hotSeen: hotSeen, batches: batches)
    }

    /// Runs the flusher until both stores hold the whole log (at most `seconds`), then checks them against the oracle.
    func flushAndCheck(_ s: Setup, seconds: Double) async throws {
        let task = Task { try await s.flusher.run() }
        defer { task.cancel() }
        try await waitAndCheck(s, seconds: seconds)
    }

    /// Waits until a running flusher has brought both stores to the end of the log, then checks them as above.
    func waitAndCheck(_ s: Setup, seconds: Double) async throws {
        let end = s.runtime.wal.endPosition
        let deadline = Date().addingTimeInterval(seconds)
        var hotAt: UInt64 = 0
        var durableAt: UInt64 = 0
        while Date() < deadline {
            hotAt = (try? await s.hot.committedPosition(collector: s.runtime.collectorID)) ?? 0
            durableAt = (try? await s.durable.committedPosition(collector: s.runtime.collectorID)) ?? 0
            if hotAt == end, durableAt == end { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(hotAt == end && durableAt == end, "hot at \(hotAt), durable at \(durableAt) of \(end)")
        let oracle = try await storeOracle(s.batches)
        let all = Int64.min...Int64.max
        #expect(try await s.hot.read(service: nil, buckets: all) == oracle.hot)
        #expect(try await s.durable.read(service: nil, buckets: all) == oracle.durable)
    }

    @Test func durableCommitsWaitWhileTheHotLaneHasABacklog() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try await backlog(dir, hotDelay: .milliseconds(5), yieldLimit: .seconds(120))
        defer { s.runtime.commitLog.shutdown() }
        try await flushAndCheck(s, seconds: 60)
        let seen = s.seen.backlogAtCommit.withLock { $0 }
        #expect(s.hot.inner.commitSizes.count > 4, "the hot backlog took several commits")
        #expect(!seen.isEmpty && seen.allSatisfy { !$0 }, "a durable commit came while the hot lane had a backlog: \(seen)")
    }

    /// Each hot commit takes 40 ms, so the hot backlog lasts seconds; the durable flush waits only 200 ms of it (the
    /// time limit), or not at all once it is more than 1 KiB behind in the log (the byte limit).
    @Test(arguments: [
        (Duration.milliseconds(200), UInt64(256 << 20)),
        (Duration.seconds(120), UInt64(1024)),
    ])
    func durableCommitsGoAheadPastEitherLimit(yieldLimit: Duration, yieldBytes: UInt64) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try await backlog(dir, hotDelay: .milliseconds(40), yieldLimit: yieldLimit, yieldBytes: yieldBytes)
        defer { s.runtime.commitLog.shutdown() }
        try await flushAndCheck(s, seconds: 60)
        let seen = s.seen.backlogAtCommit.withLock { $0 }
        #expect(seen.contains(true), "the durable flush waited for the whole hot backlog: \(seen)")
    }

    /// The hot store's upkeep (Redis folds the parts of settled hashes) runs once the hot lane has caught up, and is
    /// told to stop when a burst comes: done in the commit that followed, it held up the next burst
    /// (docs/benchmarks.md). Both stores end up with everything, the burst included.
    @Test func theHotStoresUpkeepRunsOnceCaughtUpAndStopsForABurst() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var s = try await backlog(dir, hotDelay: .milliseconds(5), yieldLimit: .seconds(120))
        defer { s.runtime.commitLog.shutdown() }
        let task = Task { [flusher = s.flusher] in try await flusher.run() }
        defer { task.cancel() }
        try await waitAndCheck(s, seconds: 60)
        #expect(s.hot.inner.commitSizes.count > 4, "the hot backlog took several commits")
        // The flush looks every 10 ms: wait for its upkeep, then let a burst arrive during the next one.
        for _ in 0..<500 where s.hotSeen.tidyCalls.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(10)) }
        let first = s.hotSeen.tidyCalls.withLock { $0 }
        #expect(!first.isEmpty, "the hot store's upkeep never ran after the flush caught up")
        #expect(first.allSatisfy { !$0.backlog && $0.keepGoing }, "upkeep while the hot lane had a backlog: \(first)")
        let burst = Mutex<[[Event]]>([])
        s.hotSeen.duringTidy.withLock {
            $0 = { [pipeline = s.runtime.pipeline] in
                var rng = SplitMix64(seed: 11)
                for _ in 0..<5 {
                    let events = randomEvents(count: 200, baseMs: Self.base, spanMs: 3_600_000, rng: &rng)
                    _ = try? await pipeline.ingest(ndjson(events), nowMs: Self.base)
                    burst.withLock { $0.append(events) }
                }
            }
        }
        // Until the upkeep that took the burst has finished.
        for _ in 0..<500 where !s.hotSeen.tidyCalls.withLock({ $0.contains { $0.afterwards != nil } }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        let during = s.hotSeen.tidyCalls.withLock { $0 }.compactMap(\.afterwards)
        #expect(during == [false], "keepGoing after a burst arrived in the upkeep: \(during)")
        s.batches += burst.withLock { $0 }
        try await waitAndCheck(s, seconds: 60)
        #expect(s.seen.tidyCalls.withLock { $0 }.isEmpty, "the durable store's upkeep is not the hot flush's")
    }

    @Test func durableCommitsDoNotWaitForAFailingHotStore() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try await backlog(dir, hotDelay: .zero, yieldLimit: .seconds(120))
        defer { s.runtime.commitLog.shutdown() }
        s.hot.inner.setFailing(true)
        let end = s.runtime.wal.endPosition
        let task = Task { try await s.flusher.run() }
        defer { task.cancel() }
        let deadline = Date().addingTimeInterval(20)
        var durableAt: UInt64 = 0
        while Date() < deadline, durableAt < end {
            durableAt = try await s.durable.committedPosition(collector: s.runtime.collectorID)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(durableAt == end, "the durable store reached \(durableAt) of \(end) while the hot store was failing")
        let oracle = try await storeOracle(s.batches)
        #expect(try await s.durable.read(service: nil, buckets: Int64.min...Int64.max) == oracle.durable)
    }
}
