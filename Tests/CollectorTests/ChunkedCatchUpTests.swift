import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

/// Catch-up after a long outage (issue 14): the backlog reaches each store in commits of at most about one chunk,
/// each carrying the log position of its last record, and memory holds at most the lane cap; a crash between two
/// chunk commits neither loses nor doubles anything.
@Suite struct ChunkedCatchUpTests {
    static let base: Int64 = 1_795_000_000_000
    /// About 40 cells a chunk, four chunks a lane.
    static let limits = Aggregator.Limits(chunkBytes: 40 * Delta.cellBytes, laneBytes: 4 * 40 * Delta.cellBytes)
    /// The most cells one commit may carry: a chunk, plus the batch (or log record) that crossed its cap.
    static let maxCellsPerCommit = 40 + 200

    func open(_ dir: String, _ hot: InMemoryMetricsStore, _ durable: InMemoryMetricsStore) async throws -> (
        CollectorRuntime, Flusher
    ) {
        let logger = Logger(label: "test")
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: .init(decoder: .init(maxAgeMs: .max / 4)), hot: hot, durable: durable,
            limits: Self.limits, logger: logger)
        let flusher = Flusher(
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status, logger: logger)
        return (runtime, flusher)
    }

    /// Ingests 60 batches of 200 events over the last hour while both stores are down.
    func ingestDuringOutage(_ runtime: CollectorRuntime, _ flusher: Flusher, _ stores: [InMemoryMetricsStore])
        async throws -> [[Event]]
    {
        var rng = SplitMix64(seed: 42)
        for s in stores { s.setFailing(true) }
        var batches: [[Event]] = []
        for _ in 0..<60 {
            let events = randomEvents(count: 200, baseMs: Self.base, spanMs: 3_600_000, rng: &rng)
            #expect(try await runtime.pipeline.ingest(ndjson(events), nowMs: Self.base).accepted == 200)
            batches.append(events)
            #expect(await flusher.flushNow() == false)
        }
        // What memory holds stays under the lane cap (plus the chunk that crossed it).
        for lane in [Aggregator.Lane.hot, .durable] {
            #expect(runtime.aggregator.bytes(lane) <= Self.limits.laneBytes + 200 * Delta.cellBytes)
            #expect(runtime.aggregator.isReplaying(lane), "the rest waits in the log")
        }
        return batches
    }

    @Test func aLongOutageIsCaughtUpInBoundedCommits() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let (runtime, flusher) = try await open(dir, hot, durable)
        defer { runtime.commitLog.shutdown() }
        let batches = try await ingestDuringOutage(runtime, flusher, [hot, durable])
        // Both lanes are past their cap: ingest stopped aggregating batches that no lane keeps.
        #expect(runtime.aggregator.keepsNothing)
        hot.setFailing(false)
        durable.setFailing(false)
        #expect(await flusher.flushNow())

        let oracle = try await storeOracle(batches)
        let all = Int64.min...Int64.max
        #expect(try await hot.read(service: nil, buckets: all) == oracle.hot)
        #expect(try await durable.read(service: nil, buckets: all) == oracle.durable)
        for store in [hot, durable] {
            let sizes = store.commitSizes
            #expect(sizes.count > 4, "the backlog went in several commits: \(sizes)")
            #expect(sizes.allSatisfy { $0 <= Self.maxCellsPerCommit }, "one commit carried too much: \(sizes)")
        }
        #expect(try await hot.committedPosition(collector: runtime.collectorID) == runtime.wal.endPosition)
        #expect(!runtime.aggregator.isReplaying(.hot) && !runtime.aggregator.isReplaying(.durable))
    }

    @Test(arguments: [1, 3, 6])
    func aCrashBetweenChunksNeitherLosesNorDoubles(chunksBeforeCrash: Int) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        var (runtime, flusher) = try await open(dir, hot, durable)
        let batches = try await ingestDuringOutage(runtime, flusher, [hot, durable])
        // The stores come back, take a few chunks and go away again; then the collector crashes.
        hot.failAfter(commits: chunksBeforeCrash)
        durable.failAfter(commits: chunksBeforeCrash + 1)
        #expect(await flusher.flushNow() == false)
        hot.setFailing(false)
        let hotPart = try await hot.committedPosition(collector: runtime.collectorID)
        #expect(hotPart > 0 && hotPart < runtime.wal.endPosition, "the crash falls between chunks")
        runtime.commitLog.shutdown()
        runtime.wal.close()
        durable.setFailing(false)

        (runtime, flusher) = try await open(dir, hot, durable)
        defer { runtime.commitLog.shutdown() }
        #expect(await flusher.flushNow())
        let oracle = try await storeOracle(batches)
        let all = Int64.min...Int64.max
        #expect(try await hot.read(service: nil, buckets: all) == oracle.hot)
        #expect(try await durable.read(service: nil, buckets: all) == oracle.durable)
        #expect(hot.commitSizes.allSatisfy { $0 <= Self.maxCellsPerCommit })
    }

    /// A batch applied without its aggregate (ingest saw no lane keeping, and one took records again meanwhile) is left
    /// in the log for every lane, with what follows it, and read back from there.
    @Test func aBatchWithoutItsAggregateIsLeftInTheLog() {
        let aggregator = Aggregator(hotPosition: 0, durablePosition: 0)
        var rng = SplitMix64(seed: 7)
        let events = randomEvents(count: 20, baseMs: Self.base, spanMs: 600_000, rng: &rng)
        let batch = BatchAggregate(events: events, rules: .init())
        #expect(!aggregator.keepsNothing)
        aggregator.apply(batch, position: 10)
        aggregator.apply(nil, position: 20)
        #expect(aggregator.keepsNothing, "both lanes now leave new records in the log")
        aggregator.apply(batch, position: 30)
        for lane in [Aggregator.Lane.hot, .durable] {
            guard case .commit(let kept) = aggregator.take(lane) else {
                Issue.record("the batch before was kept in memory")
                continue
            }
            #expect(kept.position == 10)
            #expect(kept.delta == (lane == .hot ? batch.hot : batch.durable))
            guard case .replay(let after, let through) = aggregator.take(lane) else {
                Issue.record("the rest is read back")
                continue
            }
            #expect(after == 10 && through == 30)
            aggregator.replayed(lane, through: 30)
            guard case .commit(let rest) = aggregator.take(lane) else {
                Issue.record("nothing left after the read-back")
                continue
            }
            #expect(rest.position == 30 && rest.delta.isEmpty)
        }
        #expect(!aggregator.keepsNothing, "the lanes keep batches again after the read-back")
    }
}
