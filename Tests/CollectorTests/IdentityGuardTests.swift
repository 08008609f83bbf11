import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

/// Cardinality guards of services, queues and jobs: values past a limit fold into `__other__`, counted; the
/// values known before a restart keep their names after it.
@Suite struct IdentityGuardTests {
    let base: Int64 = 1_795_000_000_000

    func request(_ service: String) -> Event {
        Event(
            timestampMs: base, service: service, kind: .request, route: "/r", method: "GET", status: 200, durationMs: 2)
    }

    func job(_ service: String, _ queue: String, _ job: String) -> Event {
        Event(
            timestampMs: base, service: service, kind: .job, durationMs: 1, queue: queue, job: job, jobID: "1",
            jobEvent: .enqueued)
    }

    func open(_ dir: String, _ hot: InMemoryMetricsStore, _ durable: InMemoryMetricsStore) async throws
        -> CollectorRuntime
    {
        try await CollectorRuntime.open(
            wal: .init(directory: dir),
            ingest: .init(
                decoder: .init(maxAgeMs: .max / 4),
                identityLimits: .init(services: 2, queuesPerService: 1, jobsPerQueue: 2)),
            hot: hot, durable: durable, logger: Logger(label: "test"))
    }

    @Test func valuesPastTheLimitsFoldIntoOtherAndAreCounted() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        do {
            let runtime = try await open(dir, hot, durable)
            defer { runtime.commitLog.shutdown() }
            let events = [
                request("a"), request("b"), request("c"), request("a"),
                job("a", "q1", "j1"), job("a", "q1", "j2"), job("a", "q1", "j3"), job("a", "q2", "j1"),
                job("b", "q9", "j9"), job("d", "q1", "j1"),
            ]
            _ = try await runtime.pipeline.ingest(ndjson(events), nowMs: base)
            #expect(runtime.status.foldedServices.load(ordering: .relaxed) == 2)  // c, d
            #expect(runtime.status.foldedQueues.load(ordering: .relaxed) == 1)  // a/q2
            #expect(runtime.status.foldedJobs.load(ordering: .relaxed) == 1)  // a/q1/j3
            let flusher = Flusher(
                aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
                collectorID: runtime.collectorID, status: runtime.status, logger: Logger(label: "test"))
            #expect(await flusher.flushNow())
            let data = try await durable.read(service: nil, buckets: Int64.min...Int64.max)
            #expect(Set(data.requests.keys.map(\.service)) == ["a", "b", "__other__"])
            #expect(data.requests[RequestKey(service: "a", route: "/r", method: "GET")]?.count == 2)
            #expect(data.requests[RequestKey(service: "__other__", route: "/r", method: "GET")]?.count == 1)
            let jobs = Set(data.jobs.keys.map { "\($0.service)/\($0.queue)/\($0.job)" })
            // `__other__` is no new value: a/q2 takes queue __other__ beside q1; d's queue belongs to service __other__.
            #expect(jobs == ["a/q1/j1", "a/q1/j2", "a/q1/__other__", "a/__other__/j1", "b/q9/j9", "__other__/q1/j1"])
        }
        // After a restart the names seen in the log keep their places: c stays folded, a and b do not.
        let runtime = try await open(dir, hot, durable)
        defer { runtime.commitLog.shutdown() }
        var again = [request("c"), request("b"), request("e")]
        let folded = runtime.pipeline.identityGuard.apply(to: &again)
        #expect(again.map(\.service) == ["__other__", "b", "__other__"])
        #expect(folded.services == 2)
    }
}
