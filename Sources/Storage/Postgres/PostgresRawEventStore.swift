import Collector
import Logging
import PostgresNIO

/// Raw events in PostgreSQL, one partition per UTC day of event time (migration 3, ``PostgresPartitions``).
public final class PostgresRawEventStore: RawEventStore {
    private let client: PostgresClient
    private let schema: String
    private let logger: Logger
    private let partitions: PostgresPartitions

    /// Creates the store over a running client.
    public init(client: PostgresClient, schema: String, logger: Logger) {
        self.client = client
        self.schema = Migrations.quoted(schema)
        self.logger = logger
        self.partitions = PostgresPartitions(client: client, schema: schema, logger: logger)
    }

    public func insert(_ events: [RawEvent]) async throws {
        guard !events.isEmpty else { return }
        do { try await insertOnce(events) } catch where PostgresPartitions.isMissingPartition(error) {
            // A day another collector's retention dropped since this one created it: create it again, once.
            partitions.forget()
            try await insertOnce(events)
        }
    }

    private func insertOnce(_ events: [RawEvent]) async throws {
        try await withPostgresErrors {
            try await partitions.ensure(.rawEvents, days: Set(events.map { PartitionedTable.day(ofMs: $0.timestampMs) }))
            // NULLs travel as '' and -1 (unnest over arrays of optionals is not worth the driver dance).
            let ts = events.map(\.timestampMs)
            let service = events.map(\.service)
            let kind = events.map(\.kind)
            let route = events.map { $0.route ?? "" }
            let method = events.map { $0.method ?? "" }
            let status = events.map { Int32($0.status ?? -1) }
            let level = events.map { $0.level ?? "" }
            let queue = events.map { $0.queue ?? "" }
            let job = events.map { $0.job ?? "" }
            let isError = events.map(\.isError)
            let line = events.map(\.line)
            try await client.query(
                """
                INSERT INTO \(unescaped: schema).raw_events
                    (ts_ms, service, kind, route, method, status, level, queue, job, is_error, line)
                SELECT t, s, k, NULLIF(r, ''), NULLIF(m, ''), NULLIF(st, -1), NULLIF(l, ''), NULLIF(q, ''),
                       NULLIF(j, ''), e, x
                FROM unnest(\(ts)::bigint[], \(service)::text[], \(kind)::text[], \(route)::text[], \(method)::text[],
                            \(status)::int[], \(level)::text[], \(queue)::text[], \(job)::text[], \(isError)::boolean[],
                            \(line)::text[]) AS u(t, s, k, r, m, st, l, q, j, e, x)
                """, logger: logger)
        }
    }

    public func query(_ q: RawEventQuery) async throws -> [StoredRawEvent] {
        try await withPostgresRead { [self] in
            var sql = """
                SELECT id, ts_ms, service, kind, route, method, status, level, queue, job, is_error, line
                FROM \(schema).raw_events WHERE ts_ms >= $1 AND ts_ms < $2
                """
            var bindings = PostgresBindings()
            bindings.append(q.fromMs)
            bindings.append(q.toMs)
            func add(_ clause: String, _ value: some PostgresNonThrowingEncodable) {
                bindings.append(value)
                sql += " AND " + clause.replacingOccurrences(of: "?", with: "$\(bindings.count)")
            }
            if let v = q.service { add("service = ?", v) }
            if let v = q.kind { add("kind = ?", v) }
            if let v = q.level { add("level = ?", v) }
            if let v = q.route { add("route = ?", v) }
            if let c = q.statusClass { add("status / 100 = ?", Int32(c)) }
            if q.errorsOnly { sql += " AND is_error" }
            if let after = q.after {
                bindings.append(after.timestampMs)
                bindings.append(after.id)
                sql += " AND (ts_ms, id) < ($\(bindings.count - 1), $\(bindings.count))"
            }
            sql += " ORDER BY ts_ms DESC, id DESC LIMIT \(q.limit)"
            let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            var out: [StoredRawEvent] = []
            for try await row in rows {
                let c = row.makeRandomAccess()
                out.append(
                    StoredRawEvent(
                        id: try c["id"].decode(Int64.self),
                        event: RawEvent(
                            timestampMs: try c["ts_ms"].decode(Int64.self), service: try c["service"].decode(String.self),
                            kind: try c["kind"].decode(String.self), route: try c["route"].decode(String?.self),
                            method: try c["method"].decode(String?.self), status: try c["status"].decode(Int?.self),
                            level: try c["level"].decode(String?.self), queue: try c["queue"].decode(String?.self),
                            job: try c["job"].decode(String?.self), isError: try c["is_error"].decode(Bool.self),
                            line: try c["line"].decode(String.self))))
            }
            return out
        }
    }

    public func dropOlder(than cutoffMs: Int64) async throws -> Int {
        try await partitions.dropOlder(.rawEvents, than: cutoffMs)
    }
}
