import Collector
import Logging
import PostgresNIO
import Synchronization

/// The tables partitioned by time (declarative range partitioning), one partition per UTC day.
///
/// The partition key is the table's time column: a minute index (`minute`, rollups) or unix milliseconds
/// (`ts_ms`). A partition of day `d` is named `<table>_d<d>` and holds keys `[d * unitsPerDay, (d + 1) * unitsPerDay)`.
public struct PartitionedTable: Sendable, Hashable {
    /// The parent table's name.
    public var name: String
    /// How many key units make a day: 1 440 for a minute index, 86 400 000 for milliseconds.
    public var unitsPerDay: Int64

    public static let requestRollups = PartitionedTable(name: "request_rollups", unitsPerDay: 1_440)
    public static let jobRollups = PartitionedTable(name: "job_rollups", unitsPerDay: 1_440)
    public static let logRollups = PartitionedTable(name: "log_rollups", unitsPerDay: 1_440)
    /// The downsampled rollups: one row per series and hour, keyed by the hour's first minute.
    public static let requestRollupsHourly = PartitionedTable(name: "request_rollups_hourly", unitsPerDay: 1_440)
    public static let jobRollupsHourly = PartitionedTable(name: "job_rollups_hourly", unitsPerDay: 1_440)
    public static let logRollupsHourly = PartitionedTable(name: "log_rollups_hourly", unitsPerDay: 1_440)
    public static let funnelSteps = PartitionedTable(name: "funnel_steps", unitsPerDay: 86_400_000)
    public static let rawEvents = PartitionedTable(name: "raw_events", unitsPerDay: 86_400_000)

    /// The 1-minute rollup tables.
    public static let minuteRollups: [PartitionedTable] = [.requestRollups, .jobRollups, .logRollups]
    /// The hourly rollup tables, in the order of ``minuteRollups``.
    public static let hourlyRollups: [PartitionedTable] = [.requestRollupsHourly, .jobRollupsHourly, .logRollupsHourly]
    /// Every partitioned table.
    public static let all: [PartitionedTable] = minuteRollups + hourlyRollups + [.funnelSteps, .rawEvents]

    /// The partition's name for `day`.
    public func partition(_ day: Int64) -> String { "\(name)_d\(day)" }

    /// The day holding key `key`.
    public func day(ofKey key: Int64) -> Int64 { floorDiv(key, unitsPerDay) }

    /// The day holding unix time `ms`.
    public static func day(ofMs ms: Int64) -> Int64 { floorDiv(ms, 86_400_000) }
}

/// Creates and drops the day partitions of the ``PartitionedTable``s.
///
/// Partitions are created ahead by the retention sweep (today and the next two days) and, for data of other days
/// (a replay, a late event), just before the insert that needs them. Which exist is cached per process; a partition
/// another collector dropped is found again by the insert's failure (``isMissingPartition(_:)``), which clears the
/// cache for one retry.
public final class PostgresPartitions: Sendable {
    private let client: PostgresClient
    private let schema: String
    private let schemaName: String
    private let logger: Logger
    private let known = Mutex<Set<String>>([])

    /// Creates the manager over a running client.
    public init(client: PostgresClient, schema: String, logger: Logger) {
        self.client = client
        self.schema = Migrations.quoted(schema)
        self.schemaName = schema
        self.logger = logger
    }

    /// Creates the partitions of `table` for `days` that this process has not seen yet.
    public func ensure(_ table: PartitionedTable, days: Set<Int64>) async throws {
        let missing = known.withLock { k in days.filter { !k.contains(table.partition($0)) } }
        for day in missing.sorted() {
            let sql = """
                CREATE TABLE IF NOT EXISTS \(schema).\(Migrations.quoted(table.partition(day))) PARTITION OF \
                \(schema).\(table.name) FOR VALUES FROM (\(day * table.unitsPerDay)) TO (\((day + 1) * table.unitsPerDay))
                """
            try await withPostgresErrors {
                do { try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger) } catch {
                    // A concurrent CREATE of the same partition: the second one fails although the table now exists.
                    try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                }
            }
            _ = known.withLock { $0.insert(table.partition(day)) }
        }
    }

    /// Forgets which partitions exist (after an insert found one missing that the cache listed).
    public func forget() { known.withLock { $0.removeAll() } }

    /// The days of `table`'s partitions, oldest first.
    public func days(_ table: PartitionedTable) async throws -> [Int64] {
        try await withPostgresErrors {
            let rows = try await client.query(
                """
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
                WHERE p.relname = \(table.name) AND n.nspname = \(schemaName)
                """, logger: logger)
            var out: [Int64] = []
            for try await (name) in rows.decode(String.self) {
                guard name.hasPrefix(table.name + "_d"), let day = Int64(name.dropFirst(table.name.count + 2)) else {
                    continue
                }
                out.append(day)
            }
            return out.sorted()
        }
    }

    /// Drops the partitions of `table` whose whole day is older than `cutoffMs`; returns how many.
    @discardableResult
    public func dropOlder(_ table: PartitionedTable, than cutoffMs: Int64) async throws -> Int {
        var dropped = 0
        for day in try await days(table) where (day + 1) * 86_400_000 <= cutoffMs {
            try await drop(table, day: day, on: nil)
            dropped += 1
        }
        return dropped
    }

    /// Drops `table`'s partition of `day`, on `conn` (inside its transaction) or on any connection.
    func drop(_ table: PartitionedTable, day: Int64, on conn: PostgresConnection?) async throws {
        let sql = PostgresQuery(
            unsafeSQL: "DROP TABLE IF EXISTS \(schema).\(Migrations.quoted(table.partition(day)))")
        try await withPostgresErrors {
            if let conn {
                try await conn.query(sql, logger: logger)
            } else {
                try await client.query(sql, logger: logger)
            }
        } as Void
        _ = known.withLock { $0.remove(table.partition(day)) }
    }

    /// Whether `error` is PostgreSQL's "no partition of relation … found for row" (SQLSTATE 23514 from an insert
    /// into a partitioned table): the partition is missing, not the data wrong.
    public static func isMissingPartition(_ error: any Error) -> Bool {
        var cause: (any Error)? = error
        if let storage = cause as? StorageError { cause = storage.underlying }
        if let tx = cause as? PostgresTransactionError { cause = tx.closureError ?? tx.commitError }
        guard let psql = cause as? PSQLError, psql.code == .server else { return false }
        return psql.serverInfo?[.sqlState] == "23514" && (psql.serverInfo?[.message] ?? "").contains("no partition")
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { TimeBucket.floorDiv(a, b) }
