import Foundation
import Logging
import PostgresNIO

/// Versioned schema migrations, applied in order, each in its own transaction, recorded in
/// `schema_migrations`. `opsight migrate` runs them, and so does `opsight serve` at start.
public enum Migrations {
    /// One migration: a version and its statements (`{schema}` is replaced by the schema name).
    struct Migration {
        var version: Int
        var name: String
        var statements: [String]
    }

    static let all: [Migration] = [
        Migration(
            version: 1, name: "rollups",
            statements: [
                """
                CREATE TABLE {schema}.request_rollups (
                    service text NOT NULL, route text NOT NULL, method text NOT NULL,
                    minute bigint NOT NULL,
                    count bigint NOT NULL, errors bigint NOT NULL,
                    c1 bigint NOT NULL, c2 bigint NOT NULL, c3 bigint NOT NULL, c4 bigint NOT NULL, c5 bigint NOT NULL,
                    latency bytea NOT NULL,
                    collector text NOT NULL, position bigint NOT NULL)
                """,
                "CREATE INDEX request_rollups_service_minute ON {schema}.request_rollups (service, minute)",
                "CREATE INDEX request_rollups_minute ON {schema}.request_rollups (minute)",
                """
                CREATE TABLE {schema}.job_rollups (
                    service text NOT NULL, queue text NOT NULL, job text NOT NULL,
                    minute bigint NOT NULL,
                    enqueued bigint NOT NULL, started bigint NOT NULL, succeeded bigint NOT NULL,
                    failed bigint NOT NULL, retried bigint NOT NULL,
                    duration bytea NOT NULL, wait bytea NOT NULL,
                    collector text NOT NULL, position bigint NOT NULL)
                """,
                "CREATE INDEX job_rollups_service_minute ON {schema}.job_rollups (service, minute)",
                "CREATE INDEX job_rollups_minute ON {schema}.job_rollups (minute)",
                """
                CREATE TABLE {schema}.log_rollups (
                    service text NOT NULL, minute bigint NOT NULL,
                    debug bigint NOT NULL, info bigint NOT NULL, warn bigint NOT NULL,
                    error bigint NOT NULL, fatal bigint NOT NULL,
                    collector text NOT NULL, position bigint NOT NULL)
                """,
                "CREATE INDEX log_rollups_service_minute ON {schema}.log_rollups (service, minute)",
                """
                CREATE TABLE {schema}.wal_positions (
                    collector text PRIMARY KEY, position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())
                """,
            ]),
        Migration(
            version: 2, name: "alerting",
            statements: [
                // Times are unix milliseconds from the alerting clock (injected, so tests step it).
                // Evaluation and dispatch state as snapshots, one row per part ('rules', 'dispatch').
                """
                CREATE TABLE {schema}.alerting_state (
                    part text PRIMARY KEY, snapshot bytea NOT NULL, updated_ms bigint NOT NULL)
                """,
                // The outbox: rendered HTTP requests, written in the transaction of the state change that caused them;
                // `seq` keeps the order they were written in (a firing before its resolved).
                """
                CREATE TABLE {schema}.notifications (
                    id uuid PRIMARY KEY, seq bigserial, receiver text NOT NULL, integration text NOT NULL,
                    group_key text NOT NULL,
                    status text NOT NULL, alerts int NOT NULL, url text NOT NULL, headers text NOT NULL,
                    body bytea NOT NULL, created_ms bigint NOT NULL,
                    state text NOT NULL DEFAULT 'pending', attempts int NOT NULL DEFAULT 0,
                    next_attempt_ms bigint NOT NULL, delivered_ms bigint,
                    last_status int, last_error text)
                """,
                "CREATE INDEX notifications_due ON {schema}.notifications (next_attempt_ms) WHERE state = 'pending'",
                "CREATE INDEX notifications_created ON {schema}.notifications (created_ms)",
                """
                CREATE TABLE {schema}.silences (
                    id uuid PRIMARY KEY, silence bytea NOT NULL, ends_ms bigint NOT NULL, updated_ms bigint NOT NULL)
                """,
                // Transitions of alerts (pending, firing, resolved) for the alert history.
                """
                CREATE TABLE {schema}.alert_history (
                    id bigserial PRIMARY KEY, at_ms bigint NOT NULL, alertname text NOT NULL,
                    labels text NOT NULL, state text NOT NULL, value double precision)
                """,
                "CREATE INDEX alert_history_at ON {schema}.alert_history (at_ms)",
                // Who evaluates and delivers: one holder at a time among several `opsight serve`.
                """
                CREATE TABLE {schema}.leases (
                    name text PRIMARY KEY, holder text NOT NULL, expires_ms bigint NOT NULL)
                """,
            ]),
        Migration(
            version: 3, name: "raw_events",
            statements: [
                // The drill-down: one partition per UTC day of event time (created on first insert), so retention
                // drops whole days.
                """
                CREATE TABLE {schema}.raw_events (
                    id bigserial, ts_ms bigint NOT NULL, service text NOT NULL, kind text NOT NULL,
                    route text, method text, status int, level text, queue text, job text,
                    is_error boolean NOT NULL, line text NOT NULL,
                    PRIMARY KEY (ts_ms, id)
                ) PARTITION BY RANGE (ts_ms)
                """,
                "CREATE INDEX raw_events_service_ts ON {schema}.raw_events (service, ts_ms DESC, id DESC)",
            ]),
        Migration(
            version: 4, name: "funnel steps",
            statements: [
                // Facts, not counters. A replayed or twice-received record may be a second row: reads take distinct
                // rows, which is cheaper than a unique index over every column on the ingest path. "C" collation:
                // byte comparisons, no locale rules, for the index and the DISTINCT.
                """
                CREATE TABLE {schema}.funnel_steps (
                    funnel text COLLATE "C" NOT NULL, ts_ms bigint NOT NULL, step smallint NOT NULL,
                    entity text COLLATE "C" NOT NULL)
                """,
                "CREATE INDEX funnel_steps_funnel_ts ON {schema}.funnel_steps (funnel, ts_ms)",
            ]),
        Migration(
            version: 5, name: "time partitions",
            statements:
                // Rollups and funnel records partitioned by day, so retention drops whole days (issue 16); the rows
                // already there move into the partitions of their days. Plus the downsampled rollups (one row per
                // series and hour, keyed by the hour's first minute) and the alerting lease's fencing token.
                partitioned(
                    "request_rollups", key: "minute", unitsPerDay: 1_440,
                    indexes: ["request_rollups_service_minute": "service, minute", "request_rollups_minute": "minute"])
                + partitioned(
                    "job_rollups", key: "minute", unitsPerDay: 1_440,
                    indexes: ["job_rollups_service_minute": "service, minute", "job_rollups_minute": "minute"])
                + partitioned(
                    "log_rollups", key: "minute", unitsPerDay: 1_440,
                    indexes: ["log_rollups_service_minute": "service, minute"])
                + partitioned(
                    "funnel_steps", key: "ts_ms", unitsPerDay: 86_400_000,
                    indexes: ["funnel_steps_funnel_ts": "funnel, ts_ms"])
                + ["request_rollups", "job_rollups", "log_rollups"].flatMap { table in
                    [
                        """
                        CREATE TABLE {schema}.\(table)_hourly (LIKE {schema}.\(table) INCLUDING DEFAULTS)
                        PARTITION BY RANGE (minute)
                        """,
                        "CREATE INDEX \(table)_hourly_service_minute ON {schema}.\(table)_hourly (service, minute)",
                    ]
                }
                + [
                    // A new token each time the lease changes hands (never reused, even after a release): writes only
                    // the holder may do carry the token they were granted with, and fail once another holder has one.
                    "CREATE SEQUENCE {schema}.lease_tokens",
                    "ALTER TABLE {schema}.leases ADD COLUMN token bigint NOT NULL DEFAULT nextval('{schema}.lease_tokens')",
                ]),
        Migration(
            version: 6, name: "queue wait facts and hot epochs",
            statements: [
                // Job `enqueued`/`started` facts, paired into queue wait by the commit that brings a new one (see
                // `QueueWaitPairing`); kept a bit over `ingest.max_age` (retention).
                """
                CREATE TABLE {schema}.job_facts (
                    service text COLLATE "C" NOT NULL, job_id text COLLATE "C" NOT NULL, kind smallint NOT NULL,
                    ts_ms bigint NOT NULL, queue text COLLATE "C" NOT NULL, job text COLLATE "C" NOT NULL,
                    PRIMARY KEY (service, job_id, kind, ts_ms, queue, job))
                """,
                "CREATE INDEX job_facts_ts ON {schema}.job_facts (ts_ms)",
                // Wait samples withdrawn because a late enqueue moved their start's latest enqueue.
                "ALTER TABLE {schema}.job_rollups ADD COLUMN wait_retracted bytea",
                "ALTER TABLE {schema}.job_rollups_hourly ADD COLUMN wait_retracted bytea",
                // The hot store's epoch (docs/hot-store-loss.md): one row, always there, so that every durable
                // commit can lock it FOR SHARE and a rebuild FOR UPDATE.
                """
                CREATE TABLE {schema}.hot_epoch (
                    id int PRIMARY KEY CHECK (id = 1), epoch text, started_at timestamptz)
                """,
                "INSERT INTO {schema}.hot_epoch (id) VALUES (1)",
                """
                CREATE TABLE {schema}.hot_epoch_positions (
                    epoch text NOT NULL, collector text NOT NULL, position bigint NOT NULL,
                    PRIMARY KEY (epoch, collector))
                """,
            ]),
        Migration(
            version: 7, name: "rollup change log",
            statements: [
                // One entry per durable commit that wrote rollups, in the same transaction: the minutes it touched.
                // The window cache over the minutes (windows over an hour) follows it and reads the rows of the
                // commits that touched minutes it holds; compactions add an entry (collector `compaction`, minutes
                // `[first, last]`), since they rewrite rows. Kept ten minutes (`PostgresDurableStore+ChangeFeed`).
                """
                CREATE TABLE {schema}.rollup_changes (
                    collector text COLLATE "C" NOT NULL, position bigint NOT NULL, minutes bigint[] NOT NULL,
                    at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (collector, position))
                """,
                "CREATE SEQUENCE {schema}.rollup_compactions",
            ]),
    ]

    /// Statements that turn `table` (unpartitioned, with `indexes` by name) into one partitioned by range of `key`,
    /// with a partition per day for each day that holds rows, and the rows moved over.
    private static func partitioned(
        _ table: String, key: String, unitsPerDay: Int64, indexes: [String: String]
    ) -> [String] {
        let old = "\(table)_unpartitioned"
        return indexes.keys.sorted().map { "DROP INDEX {schema}.\($0)" }
            + [
                "ALTER TABLE {schema}.\(table) RENAME TO \(old)",
                "CREATE TABLE {schema}.\(table) (LIKE {schema}.\(old) INCLUDING DEFAULTS) PARTITION BY RANGE (\(key))",
            ]
            + indexes.sorted(by: { $0.key < $1.key }).map {
                "CREATE INDEX \($0.key) ON {schema}.\(table) (\($0.value))"
            }
            + [
                """
                DO $migration$
                DECLARE d bigint;
                BEGIN
                    FOR d IN SELECT DISTINCT floor(\(key)::numeric / \(unitsPerDay))::bigint FROM {schema}.\(old) LOOP
                        EXECUTE format('CREATE TABLE {schema}.%I PARTITION OF {schema}.\(table) FOR VALUES FROM (%s) TO (%s)',
                                       '\(table)_d' || d, d * \(unitsPerDay), (d + 1) * \(unitsPerDay));
                    END LOOP;
                END
                $migration$
                """,
                "INSERT INTO {schema}.\(table) SELECT * FROM {schema}.\(old)",
                "DROP TABLE {schema}.\(old)",
            ]
    }

    /// The newest version this build knows.
    public static var latestVersion: Int { all.last?.version ?? 0 }

    /// Applies every migration newer than the database's, up to `through` (default: all); returns the versions
    /// applied.
    @discardableResult
    public static func migrate(
        client: PostgresClient, schema: String, through: Int = .max, logger: Logger
    ) async throws -> [Int] {
        try await client.withTransaction(logger: logger) { conn in
            // Under the migrations' lock: two `CREATE … IF NOT EXISTS` of one name at once can both try to create it
            // and one fails on PostgreSQL's unique index (several collectors starting together on a new schema).
            try await conn.query("SELECT pg_advisory_xact_lock(7315001, hashtext(\(schema)))", logger: logger)
            try await conn.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: quoted(schema))", logger: logger)
            try await conn.query(
                """
                CREATE TABLE IF NOT EXISTS \(unescaped: quoted(schema)).schema_migrations (
                    version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
        }
        var applied: [Int] = []
        for m in all where m.version <= through {
            let done = try await client.withTransaction(logger: logger) { conn -> Bool in
                // One migrator of a schema at a time, even with several `opsight serve` starting together; those of
                // other schemas (test suites start many at once) need not wait.
                try await conn.query("SELECT pg_advisory_xact_lock(7315001, hashtext(\(schema)))", logger: logger)
                let rows = try await conn.query(
                    "SELECT 1 FROM \(unescaped: quoted(schema)).schema_migrations WHERE version = \(m.version)",
                    logger: logger)
                for try await _ in rows { return true }
                for statement in m.statements {
                    let sql = statement.replacingOccurrences(of: "{schema}", with: quoted(schema))
                    try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                }
                try await conn.query(
                    "INSERT INTO \(unescaped: quoted(schema)).schema_migrations (version, name) VALUES (\(m.version), \(m.name))",
                    logger: logger)
                return false
            }
            if !done {
                applied.append(m.version)
                logger.info("applied migration", metadata: ["version": "\(m.version)", "name": "\(m.name)"])
            }
        }
        return applied
    }

    /// A schema name as a quoted SQL identifier.
    static func quoted(_ schema: String) -> String {
        "\"" + schema.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
