import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

@Suite struct StoreOutageTests {
    @Test func ingestKeepsAcceptingIntoTheLogThenRefusesAndCatchesUpWhenTheStoreReturns() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let logger = Logger(label: "test")
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: .init(walMaxBytes: 20_000, decoder: .init(maxAgeMs: .max / 4)),
            hot: hot, durable: durable, logger: logger)
        defer { runtime.commitLog.shutdown() }
        let flusher = Flusher(
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status, logger: logger)
        var rng = SplitMix64(seed: 5)
        let base: Int64 = 1_795_000_000_000

        durable.setFailing(true)
        var accepted: [[Event]] = []
        var refused = false
        for _ in 0..<100 {
            let events = randomEvents(count: 50, baseMs: base, spanMs: 600_000, rng: &rng)
            do {
                let result = try await runtime.pipeline.ingest(ndjson(events), nowMs: base)
                #expect(result.accepted == 50)
                accepted.append(events)
            } catch let error as CollectorError {
                #expect(error.code == .walFull)
                refused = true
                break
            }
            #expect(await flusher.flushNow() == false)
            // While the log has room, ingest is taken (`/readyz/ingest` 200) though the collector is not ready.
            let readiness = runtime.pipeline.readiness(hotReachable: true, durableReachable: false)
            #expect(!readiness.ready)
            #expect(readiness.ingestReady == (runtime.pipeline.walBacklogBytes <= 20_000))
        }
        #expect(refused, "ingest never refused although the durable store was down")
        #expect(!runtime.pipeline.readiness(hotReachable: true, durableReachable: false).ingestReady, "the log is full")
        #expect(accepted.count > 1)
        // Redis kept up meanwhile.
        let hotCount = try await hot.read(service: nil, buckets: Int64.min...Int64.max).requests.values.reduce(0) { $0 + $1.count }
        #expect(hotCount == UInt64(accepted.joined().filter { $0.kind == .request }.count))

        durable.setFailing(false)
        #expect(await flusher.flushNow())
        let durableCount = try await durable.read(service: nil, buckets: Int64.min...Int64.max).requests.values
            .reduce(0) { $0 + $1.count }
        #expect(durableCount == hotCount)
        #expect(runtime.pipeline.readiness(hotReachable: true, durableReachable: true).ingestReady)
        // Room again.
        let again = try await runtime.pipeline.ingest(
            ndjson(randomEvents(count: 5, baseMs: base, spanMs: 1000, rng: &rng)), nowMs: base)
        #expect(again.accepted == 5)
    }

    @Test func routesBeyondTheLimitFoldIntoOther() {
        let guardrail = RouteGuard(limit: 3)
        var events = (0..<6).map { i -> Event in
            var e = Event(timestampMs: 0, service: i == 5 ? "b" : "a", kind: .request)
            e.route = "/r\(i % 5)"
            return e
        }
        events.append(events[0])
        let folded = guardrail.apply(to: &events)
        #expect(events.map { $0.route! } == ["/r0", "/r1", "/r2", "__other__", "__other__", "/r0", "/r0"])
        #expect(folded == 2)
    }
}
