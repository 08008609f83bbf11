import Collector
import Foundation
import Logging
import PostgresNIO
@testable import Storage
import Testing

private let env = ProcessInfo.processInfo.environment

/// A compaction runs on minutes written seconds before, in partitions autovacuum has not analysed yet. Planned on
/// PostgreSQL's guesses, its `DELETE … IN (SELECT … HAVING count(*) > 1)` became a nested loop that read every row of a
/// service's minute once per duplicated cell: in `make bench` one ran on for more than 14 minutes after its collector
/// stopped. The compaction's settings must give a plan that reads the slice's rows a bounded number of times.
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct CompactionPlanTests {
    let logger = Logger(label: "test")

    @Test func compactionOfUnanalysedMinutesIsPlannedWithoutANestedLoop() async throws {
        try await withMigratedSchema(prefix: "test_compact_plan") { client, schema in
            let store = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
            let minute = Int64(Date().timeIntervalSince1970) / 60 - 30
            // 1 000 series of 4 services over 5 minutes, committed by 3 flushes, then 10 flushes more of the same cells
            // written straight into the table (as more flushes would): 33 000 rows, 33 to a cell.
            var delta = Delta()
            for i in 0..<1_000 {
                var stats = RequestStats()
                stats.record(status: 200, durationMs: Double(i % 97), isError: false)
                let key = RequestKey(service: "svc\(i % 4)", route: "/r/\(i)", method: "GET")
                delta.requests[Bucketed(key, bucket: minute + Int64(i % 5))] = stats
            }
            for position in 1...3 { try await store.commit(delta, position: UInt64(position), collector: "a") }
            let q = Migrations.quoted(schema)
            _ = try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(q).request_rollups
                        SELECT service, route, method, minute, count, errors, c1, c2, c3, c4, c5, latency, 'b', g
                        FROM \(q).request_rollups, generate_series(1, 10) AS g
                        """), logger: logger)

            let plan = try await client.withTransaction(logger: logger) { conn in
                for setting in PostgresDurableStore.compactionSettings {
                    try await conn.query(PostgresQuery(unsafeSQL: setting), logger: logger)
                }
                var query = PostgresDurableStore.compactionQuery(
                    schema: q, table: "request_rollups", key: "service, route, method, minute", columns: "service",
                    minutes: minute...(minute + 4))
                query.sql = "EXPLAIN " + query.sql
                var lines: [String] = []
                for try await (line) in try await conn.query(query, logger: logger).decode(String.self) {
                    lines.append(line)
                }
                return lines.joined(separator: "\n")
            }
            #expect(!plan.contains("Nested Loop"), "\(plan)")
            #expect(plan.contains("Hash Join") || plan.contains("Merge Join"), "\(plan)")

            // And the compaction itself, under these settings, leaves one row per cell with every figure kept.
            var expected = WindowData()
            for _ in 0..<(3 + 10 * 3) { expected.merge(delta) }
            try await store.compact(buckets: minute...(minute + 4))
            let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(q).request_rollups"))
            for try await (n) in rows.decode(Int64.self) { #expect(n == 1_000) }
            #expect(try await store.read(service: nil, buckets: minute...(minute + 4)) == expected)
        }
    }
}
