import Logging
import PostgresNIO

/// Ages out alert history, finished notifications, funnel records and job facts in batched deletes.
///
/// One `DELETE` of a month of rows would hold its locks and bloat the WAL of PostgreSQL for as long as it takes;
/// each batch here is its own short statement over at most `batchSize` rows, picked by `ctid` so the delete is a
/// TID scan. Rows are appended in time order, so the oldest are found first. Pending notifications are never
/// deleted, whatever their age: the delivery worker still owns them.
public struct PostgresRetention: Sendable {
    /// How long each kind is kept (nil: forever) and the batch size.
    public struct Configuration: Sendable, Equatable {
        public var alertHistoryMs: Int64?
        public var notificationsMs: Int64?
        public var funnelRecordsMs: Int64?
        /// Job `enqueued`/`started` facts (queue wait pairing): a bit over `ingest.max_age`, since a start can only
        /// pair with an enqueue that recent.
        public var jobFactsMs: Int64?
        public var batchSize: Int
        /// Creates the configuration.
        public init(
            alertHistoryMs: Int64? = 30 * 86_400_000, notificationsMs: Int64? = 30 * 86_400_000,
            funnelRecordsMs: Int64? = 30 * 86_400_000, jobFactsMs: Int64? = 25 * 3_600_000, batchSize: Int = 5_000
        ) {
            self.alertHistoryMs = alertHistoryMs
            self.notificationsMs = notificationsMs
            self.funnelRecordsMs = funnelRecordsMs
            self.jobFactsMs = jobFactsMs
            self.batchSize = batchSize
        }
    }

    private let client: PostgresClient
    private let schema: String
    private let configuration: Configuration
    private let logger: Logger

    /// Creates the sweeper over a running client.
    public init(client: PostgresClient, schema: String, configuration: Configuration = .init(), logger: Logger) {
        self.client = client
        self.schema = Migrations.quoted(schema)
        self.configuration = configuration
        self.logger = logger
    }

    /// Deletes what is older than each kind's retention at `nowMs`; returns the rows deleted per table.
    @discardableResult
    public func sweep(nowMs: Int64) async throws -> [String: Int] {
        var deleted: [String: Int] = [:]
        if let ms = configuration.alertHistoryMs {
            deleted["alert_history"] = try await deleteBatched("alert_history", "at_ms < $1", cutoff: nowMs - ms)
        }
        if let ms = configuration.notificationsMs {
            deleted["notifications"] = try await deleteBatched(
                "notifications", "created_ms < $1 AND state <> 'pending'", cutoff: nowMs - ms)
        }
        if let ms = configuration.funnelRecordsMs {
            deleted["funnel_steps"] = try await deleteBatched("funnel_steps", "ts_ms < $1", cutoff: nowMs - ms)
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
