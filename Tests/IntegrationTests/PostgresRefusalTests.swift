import PostgresURL
import Collector
import Foundation
import Logging
import OpsightMetrics
import PostgresNIO
import Storage
import Testing

private let env = ProcessInfo.processInfo.environment

/// PostgreSQL refusing data (a NUL in `text`, SQLSTATE 22021) is told apart from an outage, and neither the
/// flush nor the raw-event writer stops on it (SPEC §4: no accepted line may ever stop a flush).
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct PostgresRefusalTests {
    let logger = Logger(label: "test")

    func withClient(_ body: (PostgresClient, String) async throws -> Void) async throws {
        try await withMigratedSchemas("test_refusal") { client, schemas in try await body(client, schemas[0]) }
    }

    static func requests(service: String, count: Int, atMs: Int64) -> [Event] {
        (0..<count).map { _ in
            Event(
                timestampMs: atMs, service: service, kind: .request, route: "/a", method: "GET", status: 200,
                durationMs: 3)
        }
    }

    @Test func aNulInAServiceIsARefusalOfTheDataNotAnOutage() async throws {
        try await withClient { client, schema in
            let store = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            var stats = RequestStats()
            stats.record(status: 200, durationMs: 3, isError: false)
            var delta = Delta()
            let minute = TimeBucket.index(ofMs: nowMs, widthMs: store.bucketWidthMs)
            delta.requests[Bucketed(RequestKey(service: "a\u{0}b", route: "/a", method: "GET"), bucket: minute)] = stats
            do {
                try await store.commit(delta, position: 7, collector: "c1")
                Issue.record("PostgreSQL took a NUL in text")
            } catch {
                #expect(error.isDataRefusal, "\(error)")
            }
            let position = try await store.committedPosition(collector: "c1")
            #expect(position == 0)
        }
    }

    @Test func theFlusherQuarantinesWhatPostgresRefusesAndGoodDataKeepsFlowing() async throws {
        try await withClient { client, schema in
            let dir = NSTemporaryDirectory() + "opsight-refusal-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let durable = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
            let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
            let wal = try WriteAheadLog(configuration: .init(directory: dir))
            let aggregator = Aggregator(hotPosition: 0, durablePosition: 0)
            let status = CollectorStatus(hotPosition: 0, durablePosition: 0)
            let flusher = Flusher(
                aggregator: aggregator, wal: wal, hot: hot, durable: durable, collectorID: "c1", status: status,
                quarantine: Quarantine(path: dir + "/quarantine.ndjson", status: status, logger: logger),
                logger: logger)
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            // What the decoder now refuses at the door, put straight into the aggregator as an older build took it.
            aggregator.apply(
                BatchAggregate(events: Self.requests(service: "poison\u{0}", count: 1, atMs: nowMs), rules: .init()),
                position: 10)
            #expect(await flusher.flushNow())
            aggregator.apply(
                BatchAggregate(events: Self.requests(service: "good", count: 25, atMs: nowMs), rules: .init()),
                position: 20)
            #expect(await flusher.flushNow())
            #expect(status.quarantinedDeltas.load(ordering: .relaxed) == 1)
            #expect(try await durable.committedPosition(collector: "c1") == 20)
            let minute = TimeBucket.index(ofMs: nowMs, widthMs: TimeBucket.durableWidthMs)
            let data = try await durable.read(service: "good", buckets: minute...minute)
            #expect(data.requests.values.reduce(0) { $0 + $1.count } == 25)
            #expect(try String(contentsOfFile: dir + "/quarantine.ndjson", encoding: .utf8).contains("poison\\u0000"))
        }
    }

    @Test func theRawEventWriterQuarantinesTheRefusedRowAndWritesTheRest() async throws {
        try await withClient { client, schema in
            let store = PostgresRawEventStore(client: client, schema: schema, logger: logger)
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            let rows = (0..<50).map { i in
                RawEvent(
                    timestampMs: nowMs - Int64(i), service: i == 17 ? "bad\u{0}" : "api", kind: "log", isError: false,
                    line: #"{"service":"api","n":\#(i)}"#)
            }
            let buffer = RawEventBuffer()
            buffer.add(rows, sampledOut: 0)
            let status = CollectorStatus(hotPosition: 0, durablePosition: 0)
            let writer = RawEventWriter(
                buffer: buffer, store: store, now: { nowMs },
                quarantine: Quarantine(path: nil, status: status, logger: logger), logger: logger)
            #expect(await writer.writeOnce() == 50)
            #expect(buffer.count == 0)
            #expect(status.quarantinedRawEvents.load(ordering: .relaxed) == 1)
            let stored = try await store.query(RawEventQuery(fromMs: nowMs - 1000, toMs: nowMs + 1, limit: 100))
            #expect(stored.count == 49)
        }
    }
}
