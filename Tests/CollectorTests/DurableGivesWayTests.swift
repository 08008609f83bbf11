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
        let hotBacklog = Mutex<(@Sendable () -> Bool)?>(nil)
    }

    /// A store that takes `delay` for every commit and notes what `seen` asks.
    static func store(bucketWidthMs: Int64, delay: Duration = .zero, seen: Observations) -> HookedMetricsStore {
        HookedMetricsStore(bucketWidthMs: bucketWidthMs) { _ in
            if let probe = seen.hotBacklog.withLock({ $0 }) {
                let backlog = probe()
                seen.backlogAtCommit.withLock { $0.append(backlog) }
            }
            if delay > .zero { try await Task.sleep(for: delay) }
        }
    }

    struct Setup {
        var runtime: CollectorRuntime
        var flusher: Flusher
        var hot: HookedMetricsStore
        var durable: HookedMetricsStore
        /// What the durable store saw.
        var seen: Observations
        var batches: [[Event]]
    }

    /// A collector whose stores were away while 20 batches of the last hour arrived; the flusher is not running yet.
    func backlog(_ dir: String, hotDelay: Duration, yieldLimit: Duration, yieldBytes: UInt64 = 256 << 20) async throws
        -> Setup
    {
        let logger = Logger(label: "test")
        let seen = Observations()
        let hot = Self.store(bucketWidthMs: TimeBucket.hotWidthMs, delay: hotDelay, seen: Observations())
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
        return Setup(runtime: runtime, flusher: flusher, hot: hot, durable: durable, seen: seen, batches: batches)
    }

    /// Runs the flusher until both stores hold the whole log (at most `seconds`), then checks them against the oracle.
    func flushAndCheck(_ s: Setup, seconds: Double) async throws {
        let end = s.runtime.wal.endPosition
        let task = Task { try await s.flusher.run() }
        defer { task.cancel() }
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
