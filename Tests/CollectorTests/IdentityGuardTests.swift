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

    /// Ingest skips the guards for a request series they let through before. Against the guards run over every event
    /// of the same stream (fresh guards, batch by batch): the events logged, the batch's cells and the fold counts are
    /// the same, with services, routes, queues and jobs past small limits, and `__other__` sent as a value too.
    @Test func requestsOfAdmittedSeriesSkipTheGuardsAndFoldAlike() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let limits = IdentityGuard.Limits(services: 3, queuesPerService: 2, jobsPerQueue: 2)
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir),
            ingest: .init(decoder: .init(maxAgeMs: .max / 4), routesPerService: 3, identityLimits: limits),
            hot: InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs),
            durable: InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs), logger: Logger(label: "test"))
        defer { runtime.commitLog.shutdown() }
        let identities = IdentityGuard(limits: limits)
        let routes = RouteGuard(limit: 3)
        var rng = SplitMix64(seed: 15)
        func pick(_ values: [String]) -> String { values[Int(rng.next() % UInt64(values.count))] }
        let services = ["a", "b", "c", "d", "e", "__other__"]
        var (foldedServices, foldedQueues, foldedJobs, foldedRoutes) = (0, 0, 0, 0)
        for batch in 0..<60 {
            let events = (0..<30).map { i -> Event in
                let ts = base - Int64(batch * 30 + i) * 997
                if rng.next() % 4 == 0 {
                    return Event(
                        timestampMs: ts, service: pick(services), kind: .job, durationMs: 3,
                        queue: pick(["q1", "q2", "q3", "__other__"]), job: pick(["j1", "j2", "j3"]), jobID: "\(i)",
                        jobEvent: .succeeded)
                }
                return Event(
                    timestampMs: ts, service: pick(services), kind: .request,
                    route: pick(["/r1", "/r2", "/r3", "/r4", "/r5/{id}", "__other__"]), method: pick(["GET", "POST"]),
                    status: pick(["200", "404", "503"]) == "200" ? 200 : 503, durationMs: Double(rng.next() % 900))
            }
            var expected = events
            let f = identities.apply(to: &expected)
            foldedServices += f.services
            foldedQueues += f.queues
            foldedJobs += f.jobs
            foldedRoutes += routes.apply(to: &expected)
            let prepared = try ndjson(events).withUnsafeBytes { raw throws(CollectorError) in
                try runtime.pipeline.prepare(raw, nowMs: base)
            }
            let logged = try prepared.payload.withUnsafeBytes { try EventCodec.decode($0) }
            #expect(logged == expected, "batch \(batch)")
            #expect(prepared.aggregate?.hot == BatchAggregate(events: expected, rules: .init()).hot, "batch \(batch)")
        }
        #expect(foldedServices > 0 && foldedRoutes > 0 && foldedQueues > 0)
        #expect(runtime.status.foldedServices.load(ordering: .relaxed) == UInt64(foldedServices))
        #expect(runtime.status.foldedQueues.load(ordering: .relaxed) == UInt64(foldedQueues))
        #expect(runtime.status.foldedJobs.load(ordering: .relaxed) == UInt64(foldedJobs))
        #expect(runtime.status.seriesLimited.load(ordering: .relaxed) == UInt64(foldedRoutes))
    }
}
