import Foundation
import Logging
import OpsightMetrics
import Synchronization
import OpsightTestSupport
import Testing

@testable import Collector

/// A store refusal for the data itself, as `StorageError(.refusedData)` is for PostgreSQL's SQLSTATE 22/23/54.
private struct DataRefused: StoreRefusal {
    var refusesData: Bool { true }
}

/// How often a store refused.
private final class Refusals: Sendable {
    let count = Atomic<Int>(0)
}

/// An in-memory metrics store that refuses, for its data, every delta holding a series of `poisoned`.
private func refusingStore(bucketWidthMs: Int64, poisoned: String, counting refusals: Refusals) -> HookedMetricsStore {
    HookedMetricsStore(bucketWidthMs: bucketWidthMs) { delta in
        if delta.services.contains(poisoned) {
            refusals.count.add(1, ordering: .relaxed)
            throw DataRefused()
        }
    }
}

/// A raw-event store refusing, for their data, every batch holding a line with `poison`.
private final class RefusingRawEventStore: RawEventStore {
    let inner = InMemoryRawEventStore()
    let poison: String
    init(poison: String) { self.poison = poison }
    func insert(_ events: [RawEvent]) async throws {
        if events.contains(where: { $0.line.contains(poison) }) { throw DataRefused() }
        try await inner.insert(events)
    }
    func query(_ query: RawEventQuery) async throws -> [StoredRawEvent] { try await inner.query(query) }
    func dropOlder(than cutoffMs: Int64) async throws -> Int { try await inner.dropOlder(than: cutoffMs) }
}

@Suite struct QuarantineTests {
    let base: Int64 = 1_795_000_000_000

    func request(_ service: String, route: String = "/a") -> Event {
        var e = Event(timestampMs: base - 1000, service: service, kind: .request)
        e.route = route
        e.method = "GET"
        e.status = 200
        e.durationMs = 5
        return e
    }

    func requestCount(_ store: any MetricsStore, service: String? = nil) async throws -> UInt64 {
        try await store.read(service: service, buckets: Int64.min...Int64.max).requests.values.reduce(0) {
            $0 + $1.count
        }
    }

    @Test func aDeltaTheStoreRefusesForItsDataIsQuarantinedAndTheFlushMovesOn() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let refusals = Refusals()
        let durable = refusingStore(bucketWidthMs: TimeBucket.durableWidthMs, poisoned: "poison", counting: refusals)
        let logger = Logger(label: "test")
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir, segmentBytes: 4096), ingest: .init(decoder: .init(maxAgeMs: .max / 4)),
            hot: hot, durable: durable, logger: logger)
        defer { runtime.commitLog.shutdown() }
        let quarantinePath = dir + "/quarantine.ndjson"
        let flusher = Flusher(
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status,
            quarantine: Quarantine(path: quarantinePath, status: runtime.status, logger: logger), logger: logger)

        // The poisoned service and a good one in the same flush, then good data behind it.
        _ = try await runtime.pipeline.ingest(ndjson([request("good"), request("poison")]), nowMs: base)
        #expect(await flusher.flushNow())
        for _ in 0..<20 {
            _ = try await runtime.pipeline.ingest(
                ndjson((0..<20).map { _ in request("good", route: "/b") }), nowMs: base)
        }
        #expect(await flusher.flushNow())

        #expect(refusals.count.load(ordering: .relaxed) == 1, "the refused delta was retried")
        #expect(runtime.status.quarantinedDeltas.load(ordering: .relaxed) == 1)
        #expect(runtime.status.durablePosition.load(ordering: .relaxed) == runtime.wal.endPosition)
        #expect(try await durable.committedPosition(collector: runtime.collectorID) == runtime.wal.endPosition)
        // The data behind the refused delta arrived; Redis, which took it, has everything.
        #expect(try await requestCount(durable, service: "good") == 400)
        #expect(try await requestCount(hot) == 402)
        // The log is trimmed past the refused delta.
        #expect(runtime.wal.startPosition > 0)
        // The quarantine file holds the refused delta with the error.
        let text = try String(contentsOfFile: quarantinePath, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1)
        let record = try #require(
            try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(record["store"] as? String == "postgres")
        #expect(record["kind"] as? String == "delta")
        #expect((record["error"] as? String)?.isEmpty == false)
        let delta = try #require(record["delta"] as? [String: Any])
        let services = Set(((delta["requests"] as? [[String: Any]]) ?? []).compactMap { $0["service"] as? String })
        #expect(services == ["good", "poison"])
        // Readiness agrees: the store takes commits, and the quarantine is shown.
        let readiness = runtime.pipeline.readiness(hotReachable: true, durableReachable: true)
        #expect(readiness.ready)
        #expect(readiness.quarantinedDeltas == 1)
    }

    @Test func aStoreThatIsDownIsRetriedNotQuarantined() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let logger = Logger(label: "test")
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: .init(decoder: .init(maxAgeMs: .max / 4)),
            hot: hot, durable: durable, logger: logger)
        defer { runtime.commitLog.shutdown() }
        let flusher = Flusher(
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status,
            quarantine: Quarantine(path: dir + "/quarantine.ndjson", status: runtime.status, logger: logger),
            logger: logger)
        _ = try await runtime.pipeline.ingest(ndjson([request("good")]), nowMs: base)
        durable.setFailing(true)
        #expect(await flusher.flushNow() == false)
        #expect(runtime.status.quarantinedDeltas.load(ordering: .relaxed) == 0)
        // /readyz tells the truth: PostgreSQL answers pings here but refuses commits; no driver text.
        let readiness = runtime.pipeline.readiness(hotReachable: true, durableReachable: true)
        #expect(!readiness.ready)
        #expect(readiness.checks["postgres"] == "commits failing (1 failed commits so far)")
        #expect(readiness.checks["redis"] == "ok")
        #expect(
            runtime.pipeline.readiness(hotReachable: true, durableReachable: false).checks["postgres"] == "unreachable")
        durable.setFailing(false)
        #expect(await flusher.flushNow())
        #expect(try await requestCount(durable) == 1)
        #expect(runtime.pipeline.readiness(hotReachable: true, durableReachable: true).ready)
    }

    @Test func rawEventsTheStoreRefusesAreQuarantinedOneByOneAndTheRestWritten() async throws {
        let status = CollectorStatus(hotPosition: 0, durablePosition: 0)
        let buffer = RawEventBuffer()
        let store = RefusingRawEventStore(poison: "POISON")
        let rows = (0..<37).map { i in
            RawEvent(
                timestampMs: base, service: "a", kind: "log", isError: false,
                line: i == 5 || i == 30 ? #"{"msg":"POISON \#(i)"}"# : #"{"msg":"ok \#(i)"}"#)
        }
        buffer.add(rows, sampledOut: 0)
        let writer = RawEventWriter(
            buffer: buffer, store: store, now: { base },
            quarantine: Quarantine(path: nil, status: status, logger: Logger(label: "test")),
            logger: Logger(label: "test"))
        #expect(await writer.writeOnce() == 37)
        #expect(buffer.count == 0)
        #expect(status.quarantinedRawEvents.load(ordering: .relaxed) == 2)
        let stored = try await store.inner.query(RawEventQuery(fromMs: 0, toMs: .max, limit: 100))
        #expect(stored.count == 35)
        #expect(!stored.contains { $0.event.line.contains("POISON") })
    }

    /// The quarantine file rotates past a quarter of its byte budget, the parts together stay within the budget, and
    /// the sweep deletes parts older than the age limit; every line kept is whole (issue 14: the disk stays bounded).
    @Test func theQuarantineFileRotatesAndAgesOutByBytesAndAge() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let now = Mutex<Int64>(1_000_000)
        var retention = Quarantine.Retention()
        retention.maxBytes = 40_000
        retention.maxAgeMs = 3_600_000
        let path = dir + "/quarantine.ndjson"
        let quarantine = Quarantine(
            path: path, status: CollectorStatus(hotPosition: 0, durablePosition: 0), logger: Logger(label: "test"),
            clock: WallClock { now.withLock { $0 } }, retention: retention)
        let line = String(repeating: "x", count: 900)
        for i in 0..<200 {
            now.withLock { $0 += 1_000 }
            quarantine.rawEventsRefused(
                [RawEvent(timestampMs: 0, service: "s", kind: "log", isError: false, line: "\(i) \(line)")],
                store: "postgres", error: DataRefused())
        }
        func sizes() -> (parts: [UInt64], total: UInt64) {
            let parts = quarantine.rotatedParts().map(\.bytes)
            let current = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
            return (parts, parts.reduce(current, +))
        }
        // About 200 kB written: rotated in parts of at most 10 kB, at most 40 kB kept, the newest lines among them.
        let (parts, total) = sizes()
        #expect(parts.count >= 2)
        #expect(parts.allSatisfy { $0 <= 10_000 })
        #expect(total <= 40_000 && total >= 20_000)
        let newest = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(newest.last?.contains("\"199 ") == true)
        // Every kept line parses: rotation never splits one.
        for part in quarantine.rotatedParts().map(\.path) + [path] {
            for l in try String(contentsOfFile: part, encoding: .utf8).split(separator: "\n") {
                #expect((try? JSONSerialization.jsonObject(with: Data(l.utf8))) != nil)
            }
        }
        // An hour and more later the sweep removes every rotated part; the current file stays.
        #expect(quarantine.ageOut(nowMs: now.withLock { $0 } + 3_700_000) == parts.count)
        #expect(quarantine.rotatedParts().isEmpty)
        #expect(FileManager.default.fileExists(atPath: path))
    }
}
