import Logging
import PostgresNIO

/// Ages out what PostgreSQL keeps, kind by kind, and creates the day partitions ahead. Job facts
/// (queue wait pairing) go in batched deletes.
///
/// Time-partitioned tables (rollups, funnel records; raw events have their own writer) lose whole days: a
/// `DROP TABLE` of a partition, which frees its disk at once and writes next to nothing to the WAL. The 1-minute
/// rollups of a day older than `rollupsDownsampleAfterMs` are first summed into hourly rows (``PostgresDurableStore/downsample(day:)``),
/// which live until `rollupsMs`. Alert history and finished notifications are not partitioned (few rows, read by
/// id): they go in batched deletes. One `DELETE` of a month of rows would hold its locks and bloat the WAL of
/// PostgreSQL for as long as it takes; each batch here is its own short statement over at most `batchSize` rows,
/// picked by `ctid` so the delete is a TID scan. Pending notifications are never deleted, whatever their age: the
/// delivery worker still owns them.
public struct PostgresRetention: Sendable {
    /// How long each kind is kept (nil: forever) and the batch size.
    public struct Configuration: Sendable, Equatable {
        public var alertHistoryMs: Int64?
        public var notificationsMs: Int64?
        public var funnelRecordsMs: Int64?
        /// How long rollups are kept (the hourly ones, once downsampled).
        public var rollupsMs: Int64?
        /// After how long a day's 1-minute rollups become hourly rows (nil: never).
        public var rollupsDownsampleAfterMs: Int64?
        /// How many days ahead of today the partitions are created.
        public var partitionsAhead: Int64 = 2
        /// Job `enqueued`/`started` facts (queue wait pairing): a bit over `ingest.max_age`, since a start can only
        /// pair with an enqueue that recent.
        public var jobFactsMs: Int64?
        public var batchSize: Int
        /// Creates the configuration.
        public init(
            alertHistoryMs: Int64? = 30 * 86_400_000, notificationsMs: Int64? = 30 * 86_400_000,
            funnelRecordsMs: Int64? = 30 * 86_400_000, rollupsMs: Int64? = 90 * 86_400_000,
            rollupsDownsampleAfterMs: Int64? = 7 * 86_400_000, jobFactsMs: Int64? = 25 * 3_600_000,
            batchSize: Int = 5_000
        ) {
            self.alertHistoryMs = alertHistoryMs
            self.notificationsMs = notificationsMs
            self.funnelRecordsMs = funnelRecordsMs
            self.rollupsMs = rollupsMs
            self.rollupsDownsampleAfterMs = rollupsDownsampleAfterMs
            self.jobFactsMs = jobFactsMs
            self.batchSize = batchSize
        }
    }

    private let client: PostgresClient
    private let schema: String
    private let configuration: Configuration
    private let logger: Logger
    private let durable: PostgresDurableStore

    /// Creates the sweeper over a running client.
    public init(client: PostgresClient, schema: String, configuration: Configuration = .init(), logger: Logger) {
        self.client = client
        self.schema = Migrations.quoted(schema)
        self.configuration = configuration
        self.logger = logger
        self.durable = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
    }

    private static let dayMs: Int64 = 86_400_000

    /// Creates the partitions of today and the next `partitionsAhead` days, so the ingest path finds them there.
    public func createPartitionsAhead(nowMs: Int64) async throws {
        let today = PartitionedTable.day(ofMs: nowMs)
        let days = Set(today...(today + configuration.partitionsAhead))
        for table in PartitionedTable.minuteRollups + [.funnelSteps, .rawEvents] {
            try await durable.partitions.ensure(table, days: days)
        }
    }

    /// Creates the partitions ahead, downsamples, and drops or deletes what is older than each kind's retention at
    /// `nowMs`; returns the rows deleted per table (and the partitions dropped, days downsampled).
    @discardableResult
    public func sweep(nowMs: Int64) async throws -> [String: Int] {
        var deleted: [String: Int] = [:]
        try await createPartitionsAhead(nowMs: nowMs)
        if let ms = configuration.rollupsDownsampleAfterMs {
            // Whole days only, and never today's or yesterday's (the flusher still compacts those minutes).
            let cutoff = min(nowMs - ms, nowMs - 2 * Self.dayMs)
            // Days the rollup retention drops below are not worth summing first.
            let kept = configuration.rollupsMs.map { nowMs - $0 } ?? .min
            var days = 0
            for day in try await durable.minuteRollupDays() where (day + 1) * Self.dayMs <= cutoff {
                guard (day + 1) * Self.dayMs > kept else { continue }
                let rows = try await durable.downsample(day: day)
                logger.info("downsampled rollups to hours", metadata: ["day": "\(day)", "hourly_rows": "\(rows)"])
                days += 1
            }
            deleted["rollup_days_downsampled"] = days
        }
        if let ms = configuration.rollupsMs {
            var days = 0
            for table in PartitionedTable.minuteRollups + PartitionedTable.hourlyRollups {
                days += try await durable.partitions.dropOlder(table, than: nowMs - ms)
            }
            deleted["rollup_partitions"] = days
        }
        if let ms = configuration.alertHistoryMs {
            deleted["alert_history"] = try await deleteBatched("alert_history", "at_ms < $1", cutoff: nowMs - ms)
        }
        if let ms = configuration.notificationsMs {
            deleted["notifications"] = try await deleteBatched(
                "notifications", "created_ms < $1 AND state <> 'pending'", cutoff: nowMs - ms)
        }
        if let ms = configuration.funnelRecordsMs {
            deleted["funnel_step_partitions"] = try await durable.partitions.dropOlder(.funnelSteps, than: nowMs - ms)
        }
        if let ms = configuration.jobFactsMs {
            deleted["job_facts"] = try await deleteBatched("job_facts", "ts_ms < $1", cutoff: nowMs - ms)
        }
        return deleted
    }

    /// Deletes the rows of `table` matching `predicate` (over `$1` = `cutoff`), `batchSize` rows a statement.
    private func deleteBatched(_ table: String, _ predicate: String, cutoff: Int64) async throws -> Int {
        let batch = max(configuration.batchSize, 1)
        // `RETURNING` counts the rows of each batch: the async row sequence does not expose the command tag.
        let sql = """
            DELETE FROM \(schema).\(table) WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM \(schema).\(table) WHERE \(predicate) LIMIT \(batch))) RETURNING 1
            """
        var total = 0
        while true {
            var bindings = PostgresBindings()
            bindings.append(cutoff)
            let query = PostgresQuery(unsafeSQL: sql, binds: bindings)
            let deleted = try await withPostgresErrors {
                let rows = try await client.query(query, logger: logger)
                var n = 0
                for try await _ in rows { n += 1 }
                return n
            }
            total += deleted
            if deleted < batch { return total }
        }
    }
}
