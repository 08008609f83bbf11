import PostgresURL
import Collector
import Foundation
import Logging
import PostgresNIO
import Storage
import Testing

private let env = ProcessInfo.processInfo.environment

/// Alert history, finished notifications and funnel records older than their retention are gone after a sweep,
/// in batches (funnel records by whole days); newer rows and pending notifications stay.
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct PostgresRetentionTests {
    let logger = Logger(label: "test")
    static let day: Int64 = 86_400_000

    func count(_ client: PostgresClient, _ schema: String, _ sql: String) async throws -> Int {
        let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \"\(schema)\".\(sql)"))
        for try await n in rows.decode(Int64.self) { return Int(n) }
        return -1
    }

    @Test func rowsOlderThanTheSettingAreGoneAfterASweep() async throws {
        let client = PostgresClient(
            configuration: try PostgresURL(env["OPSIGHT_TEST_DATABASE_URL"]!).clientConfiguration,
            backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            let schema = "test_retention_\(UUID().uuidString.prefix(8).lowercased())"
            try await Migrations.migrate(client: client, schema: schema, logger: logger)
            var failure: (any Error)?
            do {
                let now: Int64 = 1_800_000_000_000
                let q = "\"\(schema)\""
                // 23 rows of each kind older than 10 days (more than a few batches of 4), 5 newer.
                let ages =
                    (0..<23).map { now - 11 * Self.day - Int64($0) * 60_000 } + (0..<5).map { now - Int64($0) * 1000 }
                // Funnel records are partitioned by day (migration 5): their days' partitions first.
                try await PostgresPartitions(client: client, schema: schema, logger: logger)
                    .ensure(.funnelSteps, days: Set(ages.map { PartitionedTable.day(ofMs: $0) }))
                for (i, at) in ages.enumerated() {
                    _ = try await client.query(
                        PostgresQuery(
                            unsafeSQL: """
                                INSERT INTO \(q).alert_history (at_ms, alertname, labels, state, value)
                                VALUES (\(at), 'A', '{}', 'firing', 1)
                                """))
                    _ = try await client.query(
                        PostgresQuery(
                            unsafeSQL:
                                "INSERT INTO \(q).funnel_steps (funnel, ts_ms, step, entity) VALUES ('f', \(at), 0, 'u\(i)')"
                        ))
                    // Every third old notification is still pending: it must survive any age.
                    let state = i < 23 && i % 3 == 0 ? "pending" : (i % 2 == 0 ? "delivered" : "failed")
                    _ = try await client.query(
                        PostgresQuery(
                            unsafeSQL: """
                                INSERT INTO \(q).notifications
                                    (id, receiver, integration, group_key, status, alerts, url, headers, body, created_ms,
                                     state, next_attempt_ms)
                                VALUES ('\(UUID().uuidString)', 'r', 'webhook', '{}', 'firing', 1, 'http://x', '{}', ''::bytea,
                                        \(at), '\(state)', \(at))
                                """))
                }
                let retention = PostgresRetention(
                    client: client, schema: schema,
                    configuration: .init(
                        alertHistoryMs: 10 * Self.day, notificationsMs: 10 * Self.day, funnelRecordsMs: 10 * Self.day,
                        batchSize: 4),
                    logger: logger)
                let deleted = try await retention.sweep(nowMs: now)
                let oldPending = (0..<23).filter { $0 % 3 == 0 }.count
                #expect(deleted["alert_history"] == 23)
                // Funnel records go by whole days: the old ones' one or two days.
                #expect((1...2).contains(deleted["funnel_step_partitions"] ?? 0))
                #expect(deleted["notifications"] == 23 - oldPending)
                #expect(try await count(client, schema, "alert_history") == 5)
                #expect(try await count(client, schema, "funnel_steps") == 5)
                #expect(try await count(client, schema, "notifications") == 5 + oldPending)
                #expect(
                    try await count(client, schema, "notifications WHERE created_ms < \(now - 10 * Self.day)")
                        == oldPending)
                #expect(try await count(client, schema, "alert_history WHERE at_ms < \(now - 10 * Self.day)") == 0)
                // A second sweep finds nothing more.
                #expect(try await retention.sweep(nowMs: now).values.reduce(0, +) == 0)
            } catch {
                failure = error
            }
            _ = try? await client.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE")
            group.cancelAll()
            if let failure { throw failure }
        }
    }
}
