import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

@Suite struct CrashReplayTests {
    static let base: Int64 = 1_795_000_000_000

    func open(_ dir: String, _ hot: InMemoryMetricsStore, _ durable: InMemoryMetricsStore) async throws -> (
        CollectorRuntime, Flusher
    ) {
        let logger = Logger(label: "test")
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: .init(decoder: .init(maxAgeMs: Int64.max / 4)), hot: hot,
            durable: durable, logger: logger)
        let flusher = Flusher(
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status, logger: logger)
        return (runtime, flusher)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func everyAcknowledgedEventIsCountedExactlyOnceAfterCrashes(seed: UInt64) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SplitMix64(seed: seed)
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        var batches: [[Event]] = []
        // Three lives: each ingests some batches, flushes at random moments (sometimes with the durable
        // store down), then "crashes": its in-memory aggregate is dropped unflushed.
        for _ in 0..<3 {
            let (runtime, flusher) = try await open(dir, hot, durable)
            for _ in 0..<Int.random(in: 5...15, using: &rng) {
                let events = randomEvents(count: Int.random(in: 1...200, using: &rng), baseMs: Self.base, spanMs: 900_000, rng: &rng)
                let result = try await runtime.pipeline.ingest(ndjson(events), nowMs: Self.base)
                #expect(result.accepted == events.count)
                batches.append(events)
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    durable.setFailing(Bool.random(using: &rng))
                    _ = await flusher.flushNow()
                    durable.setFailing(false)
                }
            }
            runtime.commitLog.shutdown()
            // A crashed process's descriptors close with it, the log's lock too; here another reference (the
            // commit thread finishing) could keep the log open a moment longer than the loop.
            runtime.wal.close()
        }
        let (runtime, flusher) = try await open(dir, hot, durable)
        #expect(await flusher.flushNow())
        runtime.commitLog.shutdown()

        let expected = try await storeOracle(batches)
        let all = Int64.min...Int64.max
        let gotHot = try await hot.read(service: nil, buckets: all)
        let gotDurable = try await durable.read(service: nil, buckets: all)
        #expect(gotHot == expected.hot)
        #expect(gotDurable == expected.durable)
        let total = batches.reduce(0) { $0 + $1.filter { $0.kind == .request }.count }
        #expect(gotHot.requests.values.reduce(0) { $0 + Int($1.count) } == total)
    }

    @Test func queueWaitIsStartedMinusLatestEnqueueAcrossBatches() async throws {
        let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        func job(_ ts: Int64, _ type: JobEventType) -> Event {
            var e = Event(timestampMs: ts, service: "w", kind: .job)
            e.queue = "q"
            e.job = "j"
            e.jobID = "42"
            e.jobEvent = type
            return e
        }
        // Enqueued at 1 000 and again (a retry) at 5 000; started at 7 500 in a later commit → wait 2 500 ms.
        try await store.commit(BatchAggregate(events: [job(1_000, .enqueued)], rules: .init()).hot, position: 1, collector: "c")
        try await store.commit(
            BatchAggregate(events: [job(5_000, .enqueued), job(7_500, .started)], rules: .init()).hot, position: 2,
            collector: "c")
        let data = try await store.read(service: nil, buckets: Int64.min...Int64.max)
        let stats = try #require(data.jobs[JobKey(service: "w", queue: "q", job: "j")])
        #expect(stats.queueWait.count == 1)
        let wait = try #require(stats.queueWait.quantile(0.5))
        #expect(abs(wait - 2_500) / 2_500 <= 0.01)
        #expect(stats.enqueued == 2 && stats.started == 1)
    }
}
