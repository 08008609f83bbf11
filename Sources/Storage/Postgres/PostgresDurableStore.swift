import Collector
import Logging
import NIOCore
import OpsightMetrics
import PostgresNIO

/// The durable store: 1-minute rollups in PostgreSQL, with each collector's log position in the same
/// transaction as the rows it covers.
///
/// Rows are deltas (one per series, minute and flush) and reads sum them; sketches merge by adding
/// bucket counts, so summing in Swift is exact. Inserts use `unnest` over arrays: one statement per
/// table per flush (~250k rows/s here against ~6k/s row by row).
public final class PostgresDurableStore: MetricsStore, FunnelStepStore {
    /// Where the tables live.
    public struct Configuration: Sendable {
        /// Schema holding the tables; tests use one each.
        public var schema: String
        /// Rows per part when a change feed poll reads other commits' rows back (each part one delta of the change).
        public var changeRowsPerPart: Int
        /// Creates the configuration.
        public init(schema: String = "opsight", changeRowsPerPart: Int = 50_000) {
            self.schema = schema
            self.changeRowsPerPart = max(1, changeRowsPerPart)
        }
    }

    public let bucketWidthMs: Int64 = TimeBucket.durableWidthMs
    public let retentionMs: Int64? = nil
    let client: PostgresClient
    let schema: String
    /// The schema's name as written (its transaction locks are keyed by it, as the migrations' are).
    let schemaName: String
    let logger: Logger
    let partitions: PostgresPartitions
    let changeRowsPerPart: Int
    /// What this store committed, for its own change feed's polls (``OwnRollups``).
    let own = OwnRollups()
    /// Signalled when this store's own commits are worth a poll of its change feed before the next refresh.
    public var ownRollupsWake: WakeSignal { own.wake }
    /// Whether a reader (the long window cache) polls this store's change feed; when none does, its own commits are
    /// not kept for it (``OwnRollups``).
    public var ownRollupsFollowed: Bool {
        get { own.isFollowed }
        set { own.isFollowed = newValue }
    }

    /// Creates the store over a running client (run `client.run()` in a task or service group).
    public init(client: PostgresClient, configuration: Configuration = .init(), logger: Logger) {
        self.client = client
        self.schema = Migrations.quoted(configuration.schema)
        self.schemaName = configuration.schema
        self.logger = logger
        self.changeRowsPerPart = configuration.changeRowsPerPart
        self.partitions = PostgresPartitions(client: client, schema: configuration.schema, logger: logger)
    }

    /// Takes the transaction lock `key` of this store's schema: stores of other schemas in the same database (another
    /// deployment, each test) do not wait for it. Keyed by the database alone, every commit carrying job facts and every
    /// compaction of every schema waited for each other's.
    private func lock(_ key: Int32, _ conn: PostgresConnection) async throws {
        try await conn.query("SELECT pg_advisory_xact_lock(\(key), hashtext(\(schemaName)))", logger: logger)
    }

    public func committedPosition(collector: String) async throws -> UInt64 {
        try await wrap {
            let rows = try await client.query(
                "SELECT position FROM \(unescaped: schema).wal_positions WHERE collector = \(collector)", logger: logger)
            for try await (position) in rows.decode(Int64.self) { return UInt64(position) }
            return 0
        }
    }

    public func commit(_ delta: Delta, position: UInt64, collector: String) async throws {
        try await commit(delta, position: position, collector: collector, fence: .none)
    }

    /// Commits `delta` up to `position` while the recorded hot epoch is `fenceEpoch` (``HotEpochFenced`` otherwise).
    func commit(_ delta: Delta, position: UInt64, collector: String, fenceEpoch: String?) async throws {
        try await commit(delta, position: position, collector: collector, fence: .some(fenceEpoch))
    }

    /// Commits `delta` up to `position`; with a `fence` (`.some`), only while the recorded hot epoch is the one it
    /// holds (throwing ``HotEpochFenced`` otherwise).
    private func commit(_ delta: Delta, position: UInt64, collector: String, fence: String??) async throws {
        do { try await commitOnce(delta, position: position, collector: collector, fence: fence) } catch
            where PostgresPartitions.isMissingPartition(error)
        {
            // A day another collector's retention or downsampling dropped since this one created it: create it again,
            // once. Without this the insert's refusal (SQLSTATE 23514) would read as bad data and quarantine the delta.
            partitions.forget()
            try await commitOnce(delta, position: position, collector: collector, fence: fence)
        }
    }

    /// Creates the day partitions `delta`'s rows go to (cached: only new days cost a statement).
    private func ensurePartitions(_ delta: Delta) async throws {
        func days(_ minutes: some Sequence<Int64>) -> Set<Int64> { Set(minutes.map { floorDiv($0, 1_440) }) }
        if !delta.requests.isEmpty {
            try await partitions.ensure(.requestRollups, days: days(delta.requests.keys.map(\.bucket)))
        }
        var jobDays = days(delta.jobs.keys.map(\.bucket))
        if !delta.jobFacts.isEmpty {
            // Pairing may add waits to the bucket of a start stored earlier (facts are kept a bit over a day), which
            // this delta's own cells need not touch: its partition must exist before the commit's transaction runs.
            // Stored facts are kept a bit over a day, so a pair's other fact is at most two days older.
            for day in Set(delta.jobFacts.map { PartitionedTable.day(ofMs: $0.timestampMs) }) {
                jobDays.formUnion((day - 2)...day)
            }
        }
        if !jobDays.isEmpty { try await partitions.ensure(.jobRollups, days: jobDays) }
        if !delta.logs.isEmpty { try await partitions.ensure(.logRollups, days: days(delta.logs.keys.map(\.bucket))) }
        if !delta.funnelSteps.isEmpty {
            try await partitions.ensure(
                .funnelSteps, days: Set(delta.funnelSteps.map { PartitionedTable.day(ofMs: $0.timestampMs) }))
        }
    }

    private func commitOnce(_ delta: Delta, position: UInt64, collector: String, fence: String??) async throws {
        let pos = Int64(position)
        try await ensurePartitions(delta)
        do {
            try await wrap {
                try await client.withTransaction(logger: logger) { conn in
                    if let expected = fence {
                        // Shared with every other commit, exclusive with a hot rebuild's snapshot: a commit either
                        // lands before the snapshot (and is in it) or sees the new epoch and adds nothing.
                        let rows = try await conn.query(
                            "SELECT epoch FROM \(unescaped: schema).hot_epoch WHERE id = 1 FOR SHARE", logger: logger)
                        var current: String?
                        for try await (epoch) in rows.decode(String?.self) { current = epoch }
                        guard current == expected else { throw HotEpochFenced(current: current) }
                    }
                    // Serialises commits of one collector, and moves the position only forward: a retry whose first
                    // attempt did land (its answer lost, or its COMMIT still in flight when the retry read the
                    // position) finds the position there and rolls back instead of adding the delta twice.
                    let moved = try await conn.query(
                        """
                        INSERT INTO \(unescaped: schema).wal_positions (collector, position)
                        VALUES (\(collector), \(pos))
                        ON CONFLICT (collector) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
                        WHERE wal_positions.position < EXCLUDED.position
                        RETURNING position
                        """, logger: logger)
                    var applied = false
                    for try await _ in moved { applied = true }
                    guard applied else { throw AlreadyCommitted() }
                    var delta = delta
                    if !delta.jobFacts.isEmpty {
                        delta.addWaits(try await pairJobFacts(delta.jobFacts, conn: conn), widthMs: bucketWidthMs)
                    }
                    try await insertRequests(delta, conn: conn, collector: collector, position: pos)
                    try await insertJobs(delta, conn: conn, collector: collector, position: pos)
                    try await insertLogs(delta, conn: conn, collector: collector, position: pos)
                    try await insertFunnelSteps(delta.funnelSteps, conn: conn)
                    try await logChange(delta, conn: conn, collector: collector, position: pos)
                    // Before `COMMIT`: no snapshot sees the change entry before its cells are kept.
                    own.register(delta, collector: collector, position: pos)
                }
            }
        } catch let error as StorageError {
            own.withdraw(collector: collector, position: pos)
            switch (error.underlying as? PostgresTransactionError)?.closureError {
            // The store holds this position already: the delta is in, exactly once.
            case is AlreadyCommitted: return
            case let fenced as HotEpochFenced: throw fenced
            default: throw error
            }
        } catch {
            own.withdraw(collector: collector, position: pos)
            throw error
        }
    }

    /// The transaction lock of job-fact pairing (``pairJobFacts(_:conn:)``), per schema.
    static let pairingLock: Int32 = 7_315_003
    /// The transaction lock of compaction and downsampling, per schema.
    static let rollupLock: Int32 = 7_315_002

    /// Thrown inside a commit's transaction to roll it back when the store already holds its position.
    private struct AlreadyCommitted: Error {}

    /// Keeps the facts the store did not have and returns the queue wait changes they make (``QueueWaitPairing``).
    ///
    /// One transaction lock for all collectors' pairing: two commits bringing facts of the same job must not each
    /// pair against the facts before the other's. The lock is held from reading the facts to the commit, and only
    /// by commits that carry facts.
    private func pairJobFacts(_ facts: Set<JobFact>, conn: PostgresConnection) async throws -> QueueWaitPairing.Changes {
        try await lock(Self.pairingLock, conn)
        var services: [String] = [], ids: [String] = []
        for id in Set(facts.map(\.identity)) {
            services.append(id.service)
            ids.append(id.jobID)
        }
        let rows = try await conn.query(
            """
            SELECT f.service, f.job_id, f.kind, f.ts_ms, f.queue, f.job FROM \(unescaped: schema).job_facts f
            JOIN unnest(\(services)::text[], \(ids)::text[]) AS u(service, job_id)
              ON f.service = u.service AND f.job_id = u.job_id
            """, logger: logger)
        var existing: [JobIdentity: [JobFact]] = [:]
        for try await (service, jobID, kind, ts, queue, job) in rows.decode(
            (String, String, Int16, Int64, String, String).self)
        {
            let fact = JobFact(
                kind: kind == 0 ? .enqueued : .started, service: service, jobID: jobID, timestampMs: ts, queue: queue,
                job: job)
            existing[fact.identity, default: []].append(fact)
        }
        let changes = QueueWaitPairing.changes(of: facts) { existing[$0] ?? [] }
        if !changes.newFacts.isEmpty {
            var service: [String] = [], jobID: [String] = [], kind: [Int16] = [], ts: [Int64] = []
            var queue: [String] = [], job: [String] = []
            for f in changes.newFacts {
                service.append(f.service)
                jobID.append(f.jobID)
                kind.append(Int16(f.kind.rawValue))
                ts.append(f.timestampMs)
                queue.append(f.queue)
                job.append(f.job)
            }
            try await conn.query(
                """
                INSERT INTO \(unescaped: schema).job_facts (service, job_id, kind, ts_ms, queue, job)
                SELECT * FROM unnest(\(service)::text[], \(jobID)::text[], \(kind)::int2[], \(ts)::int8[],
                                     \(queue)::text[], \(job)::text[])
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        return changes
    }

    private func insertFunnelSteps(_ records: Set<FunnelStepRecord>, conn: PostgresConnection) async throws {
        guard !records.isEmpty else { return }
        var funnel: [String] = [], ts: [Int64] = [], step: [Int16] = [], entity: [String] = []
        for r in records {
            funnel.append(r.funnel)
            ts.append(r.timestampMs)
            step.append(Int16(clamping: r.step))
            entity.append(r.entity)
        }
        try await conn.query(
            """
            INSERT INTO \(unescaped: schema).funnel_steps (funnel, ts_ms, step, entity)
            SELECT * FROM unnest(\(funnel)::text[], \(ts)::int8[], \(step)::int2[], \(entity)::text[])
            """, logger: logger)
    }

    public func funnelSteps(funnel: String, afterMs: Int64, throughMs: Int64) async throws -> [FunnelStepRecord] {
        try await withPostgresRead { [self] in
            let rows = try await client.query(
                """
                SELECT DISTINCT ts_ms, step, entity FROM \(unescaped: schema).funnel_steps
                WHERE funnel = \(funnel) AND ts_ms > \(afterMs) AND ts_ms <= \(throughMs)
                """, logger: logger)
            var out: [FunnelStepRecord] = []
            for try await (ts, step, entity) in rows.decode((Int64, Int16, String).self) {
                out.append(FunnelStepRecord(funnel: funnel, step: Int(step), entity: entity, timestampMs: ts))
            }
            return out
        }
    }

    private func insertRequests(
        _ delta: Delta, conn: PostgresConnection, collector: String, position: Int64, hourly: Bool = false
    ) async throws {
        guard !delta.requests.isEmpty else { return }
        // Each column written as the cells are visited (``ArrayColumn``), sized up front.
        let n = delta.requests.count
        var service = ArrayColumn.text(rows: n), route = ArrayColumn.text(rows: n, bytesPerRow: 32)
        var method = ArrayColumn.text(rows: n, bytesPerRow: 8), minute = ArrayColumn.int8(rows: n)
        var count = ArrayColumn.int8(rows: n), errors = ArrayColumn.int8(rows: n), c1 = ArrayColumn.int8(rows: n)
        var c2 = ArrayColumn.int8(rows: n), c3 = ArrayColumn.int8(rows: n), c4 = ArrayColumn.int8(rows: n)
        var c5 = ArrayColumn.int8(rows: n), latency = ArrayColumn.bytea(rows: n)
        for (k, v) in delta.requests {
            let labels = k.key.labels
            service.append(labels.first)
            route.append(labels.second)
            method.append(labels.third)
            minute.append(k.bucket)
            count.append(v.count)
            errors.append(v.errors)
            c1.append(v.class1xx)
            c2.append(v.class2xx)
            c3.append(v.class3xx)
            c4.append(v.class4xx)
            c5.append(v.class5xx)
            latency.append(sketch: v.latency)
        }
        try await conn.query(
            """
            INSERT INTO \(unescaped: schema).request_rollups\(unescaped: hourly ? "_hourly" : "")
                (service, route, method, minute, count, errors, c1, c2, c3, c4, c5, latency, collector, position)
            SELECT u.*, \(collector), \(position) FROM unnest(
                \(service)::text[], \(route)::text[], \(method)::text[], \(minute)::int8[], \(count)::int8[],
                \(errors)::int8[], \(c1)::int8[], \(c2)::int8[], \(c3)::int8[], \(c4)::int8[], \(c5)::int8[],
                \(latency)::bytea[]) AS u
            """, logger: logger)
    }

    private func insertJobs(
        _ delta: Delta, conn: PostgresConnection, collector: String, position: Int64, hourly: Bool = false
    ) async throws {
        guard !delta.jobs.isEmpty else { return }
        let n = delta.jobs.count
        var service = ArrayColumn.text(rows: n), queue = ArrayColumn.text(rows: n), job = ArrayColumn.text(rows: n)
        var minute = ArrayColumn.int8(rows: n), enq = ArrayColumn.int8(rows: n), started = ArrayColumn.int8(rows: n)
        var ok = ArrayColumn.int8(rows: n), failed = ArrayColumn.int8(rows: n), retried = ArrayColumn.int8(rows: n)
        var duration = ArrayColumn.bytea(rows: n), wait = ArrayColumn.bytea(rows: n)
        var retracted = ArrayColumn.bytea(rows: n, bytesPerRow: 0)
        for (k, v) in delta.jobs {
            let labels = k.key.labels
            service.append(labels.first)
            queue.append(labels.second)
            job.append(labels.third)
            minute.append(k.bucket)
            enq.append(v.enqueued)
            started.append(v.started)
            ok.append(v.succeeded)
            failed.append(v.failed)
            retried.append(v.retried)
            duration.append(sketch: v.duration)
            wait.append(sketch: v.wait)
            // Empty when nothing was retracted (most rows): no sketch to store.
            retracted.append(sketch: v.waitRetracted, emptyAsNothing: true)
        }
        try await conn.query(
            """
            INSERT INTO \(unescaped: schema).job_rollups\(unescaped: hourly ? "_hourly" : "")
                (service, queue, job, minute, enqueued, started, succeeded, failed, retried, duration, wait,
                 wait_retracted, collector, position)
            SELECT u.*, \(collector), \(position) FROM unnest(
                \(service)::text[], \(queue)::text[], \(job)::text[], \(minute)::int8[], \(enq)::int8[],
                \(started)::int8[], \(ok)::int8[], \(failed)::int8[], \(retried)::int8[], \(duration)::bytea[],
                \(wait)::bytea[], \(retracted)::bytea[]) AS u
            """, logger: logger)
    }

    private func insertLogs(
        _ delta: Delta, conn: PostgresConnection, collector: String, position: Int64, hourly: Bool = false
    ) async throws {
        guard !delta.logs.isEmpty else { return }
        let n = delta.logs.count
        var service = ArrayColumn.text(rows: n), minute = ArrayColumn.int8(rows: n), debug = ArrayColumn.int8(rows: n)
        var info = ArrayColumn.int8(rows: n), warn = ArrayColumn.int8(rows: n), error = ArrayColumn.int8(rows: n)
        var fatal = ArrayColumn.int8(rows: n)
        for (k, v) in delta.logs {
            service.append(k.key)
            minute.append(k.bucket)
            debug.append(v.debug)
            info.append(v.info)
            warn.append(v.warn)
            error.append(v.error)
            fatal.append(v.fatal)
        }
        try await conn.query(
            """
            INSERT INTO \(unescaped: schema).log_rollups\(unescaped: hourly ? "_hourly" : "") (service, minute, debug, info, warn, error, fatal, collector, position)
            SELECT u.*, \(collector), \(position) FROM unnest(
                \(service)::text[], \(minute)::int8[], \(debug)::int8[], \(info)::int8[], \(warn)::int8[],
                \(error)::int8[], \(fatal)::int8[]) AS u
            """, logger: logger)
    }

    /// Sums the rows of `buckets` (minute indexes): the 1-minute rows, and the hourly rows of the downsampled days
    /// whose hour begins in `buckets` (an hour is counted whole or not at all: a window whose older edge lies in a
    /// downsampled day starts, in effect, at the next hour).
    public func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData {
        try await withPostgresRead { [self] in
            try await client.withConnection { conn in
                // Merged part by part: an hour of minutes at 10 000 series is ~600 000 cells, held whole only as
                // the window's series.
                var out = WindowData()
                try await streamCells(conn, .read(service: service), buckets: buckets, partRows: 50_000) { part in
                    out.merge(part)
                }
                return out
            }
        }
    }

    /// Each minute of `buckets` on its own (hourly rows under the minute their hour begins, as a read of that one
    /// minute counts them), read in one statement and merged part by part.
    public func readEach(service: String?, buckets: ClosedRange<Int64>) async throws -> [Int64: WindowData] {
        try await withPostgresRead { [self] in
            try await client.withConnection { conn in
                var out: [Int64: WindowData] = [:]
                try await streamCells(conn, .read(service: service), buckets: buckets, partRows: 50_000) { part in
                    for (b, d) in part.byBucket { out[b, default: WindowData()].merge(d) }
                }
                return out
            }
        }
    }

    /// Merges the delta rows of the minutes in `buckets` into one row per series and minute.
    ///
    /// Each flush adds a row per series and minute, so without this a day's window would read every flush
    /// of the day. Run for minutes no collector writes any more (older than the flush interval plus the
    /// hot lag); concurrent compactions of the same minutes are serialised by a transaction lock.
    ///
    /// The minutes that hold rows are compacted ``compactionSliceMinutes`` at a time, one transaction each: a slice's
    /// rows are held merged in memory, and all of them at once — a shipment of the last hour's events, compacted
    /// in one go — was the collector's largest allocation (heaptrack: ~400 MB of a 1M-line shipment's peak, for
    /// 600 000 cells merged and sent as one `INSERT`).
    public func compact(buckets: ClosedRange<Int64>) async throws {
        let occupied = try await wrap { try await occupiedMinutes(buckets) }
        guard let occupied else {
            return try await compactSlice(buckets)
        }
        var lo = occupied.lowerBound
        while true {
            let hi = occupied.upperBound - lo < Self.compactionSliceMinutes ? occupied.upperBound : lo + Self.compactionSliceMinutes - 1
            try await compactSlice(lo...hi)
            if hi >= occupied.upperBound { return }
            lo = hi + 1
        }
    }

    /// Minutes compacted in one transaction.
    static let compactionSliceMinutes: Int64 = 5

    /// Settings of a compaction's transaction, before its ``compactionQuery(schema:table:key:columns:minutes:)``.
    ///
    /// No nested loop: the minutes being compacted were written seconds ago, into partitions autovacuum has not analysed
    /// yet, so the planner guesses ~100 duplicated cells where there are tens of thousands and joins them to the rows by
    /// an index scan of `(service, minute)` per cell — every row of a service's minute read once per cell of it. On a
    /// 5-minute slice of 1.2 M rows (4 000 series × 60 flushes, 20 services) that plan took 66 s, the hash join 3.1 s
    /// (docs/benchmarks.md); in `make bench` such a `DELETE` ran on for more than 14 minutes after its collector stopped.
    /// The timeout bounds what a compaction can cost PostgreSQL whatever the plan: it fails, is logged, and the minutes
    /// stay as they are (every read sums their rows) until the next sweep compacts them.
    static let compactionSettings = ["SET LOCAL enable_nestloop = off", "SET LOCAL statement_timeout = '5min'"]

    /// Deletes and returns the rows of `table` in `minutes` whose cell (`key`: series and minute) has more than one row.
    ///
    /// Only those: a cell of one row is already what compaction makes of it. A shipped hour's minutes hold mostly one
    /// row per cell, and rewriting all of them (~360 000 rows for a million-line file, of which ~79 000 cells had two or
    /// more) cost the collector and PostgreSQL ~5 CPU-s more than rewriting those cells alone (docs/benchmarks.md).
    static func compactionQuery(
        schema: String, table: String, key: String, columns: String, minutes: ClosedRange<Int64>
    ) -> PostgresQuery {
        let (lo, hi) = (minutes.lowerBound, minutes.upperBound)
        return """
            DELETE FROM \(unescaped: schema).\(unescaped: table) WHERE minute BETWEEN \(lo) AND \(hi)
              AND (\(unescaped: key)) IN (
                SELECT \(unescaped: key) FROM \(unescaped: schema).\(unescaped: table)
                WHERE minute BETWEEN \(lo) AND \(hi) GROUP BY \(unescaped: key) HAVING count(*) > 1)
            RETURNING \(unescaped: columns)
            """
    }

    /// The first and last minute within `buckets` that have 1-minute rows, nil when none has.
    private func occupiedMinutes(_ buckets: ClosedRange<Int64>) async throws -> ClosedRange<Int64>? {
        let rows = try await client.query(
            """
            SELECT min(lo), max(hi) FROM (
                SELECT min(minute) AS lo, max(minute) AS hi FROM \(unescaped: schema).request_rollups
                WHERE minute BETWEEN \(buckets.lowerBound) AND \(buckets.upperBound)
                UNION ALL
                SELECT min(minute), max(minute) FROM \(unescaped: schema).job_rollups
                WHERE minute BETWEEN \(buckets.lowerBound) AND \(buckets.upperBound)
                UNION ALL
                SELECT min(minute), max(minute) FROM \(unescaped: schema).log_rollups
                WHERE minute BETWEEN \(buckets.lowerBound) AND \(buckets.upperBound)
            ) AS m
            """, logger: logger)
        for try await (lo, hi) in rows.decode((Int64?, Int64?).self) {
            if let lo, let hi { return lo...hi }
        }
        return nil
    }

    private func compactSlice(_ buckets: ClosedRange<Int64>) async throws {
        try await wrap {
            try await client.withTransaction(logger: logger) { conn in
                try await lock(Self.rollupLock, conn)
                for setting in Self.compactionSettings { try await conn.query(PostgresQuery(unsafeSQL: setting), logger: logger) }
                let merged = try await cells(conn, .compact, buckets: buckets)
                try await insertRequests(merged, conn: conn, collector: "compacted", position: 0)
                try await insertJobs(merged, conn: conn, collector: "compacted", position: 0)
                try await insertLogs(merged, conn: conn, collector: "compacted", position: 0)
                try await logCompaction(buckets, conn: conn)
            }
        }
    }

    /// The days that still have 1-minute rollup partitions, oldest first.
    public func minuteRollupDays() async throws -> [Int64] {
        var days = Set<Int64>()
        for table in PartitionedTable.minuteRollups { days.formUnion(try await partitions.days(table)) }
        return days.sorted()
    }

    /// Downsamples day `day` (minute indexes `day * 1440 ..< (day + 1) * 1440`): its 1-minute rows are summed into
    /// one row per series and hour (keyed by the hour's first minute) in the hourly tables, and the day's 1-minute
    /// partitions are dropped, in one transaction, so a read sees the day either way and never both. Hour by hour:
    /// rows stream in and only one hour's merged series are held. Returns the hourly rows written.
    @discardableResult
    public func downsample(day: Int64) async throws -> Int {
        for table in PartitionedTable.hourlyRollups { try await partitions.ensure(table, days: [day]) }
        return try await wrap {
            try await client.withTransaction(logger: logger) { conn in
                // One downsampler at a time (every collector sweeps), and never during a compaction.
                try await lock(Self.rollupLock, conn)
                // No commit adds to the day between its reading and its drop (a replay of a log that old): its insert
                // waits for this transaction, then finds the partition gone and creates it again.
                for table in PartitionedTable.minuteRollups {
                    let name = "\(schema).\(Migrations.quoted(table.partition(day)))"
                    var found = false
                    let exists = try await conn.query("SELECT to_regclass(\(name)) IS NOT NULL", logger: logger)
                    for try await (yes) in exists.decode(Bool.self) { found = yes }
                    if found {
                        let lock = PostgresQuery(unsafeSQL: "LOCK TABLE \(name) IN SHARE MODE")
                        try await conn.query(lock, logger: logger)
                    }
                }
                var written = 0
                for hour in 0..<Int64(24) {
                    let first = day * 1_440 + hour * 60
                    let merged = try await cells(conn, .downsample, buckets: first...(first + 59))
                    try await insertRequests(merged, conn: conn, collector: "hourly", position: 0, hourly: true)
                    try await insertJobs(merged, conn: conn, collector: "hourly", position: 0, hourly: true)
                    try await insertLogs(merged, conn: conn, collector: "hourly", position: 0, hourly: true)
                    written += merged.requests.count + merged.jobs.count + merged.logs.count
                }
                for table in PartitionedTable.minuteRollups { try await partitions.drop(table, day: day, on: conn) }
                return written
            }
        }
    }

    /// What ``cells(_:_:buckets:)`` does with the rows it reads.
    enum CellSource {
        /// Reads the 1-minute and hourly rows of one service (nil: all).
        case read(service: String?)
        /// Deletes the 1-minute rows as it reads them.
        case compact
        /// Reads the 1-minute rows and sums them per hour (keyed by the hour's first minute).
        case downsample
        /// Reads the 1-minute rows that the commits `(collectors[i], positions[i])` wrote in `minutes` (the change
        /// feed's changes; `buckets` bounds them).
        case commits(minutes: [Int64], collectors: [String], positions: [Int64])
    }

    /// The rows of the minutes in `buckets` summed per series and minute (or hour, when downsampling).
    private func cells(
        _ conn: PostgresConnection, _ source: CellSource, buckets: ClosedRange<Int64>
    ) async throws -> Delta {
        var out = Delta()
        try await streamCells(conn, source, buckets: buckets, partRows: .max) { out.merge($0) }
        return out
    }

    /// Hands `sink` the rows of the minutes in `buckets`, summed per series and minute (or hour, when downsampling),
    /// in parts of about `partRows` rows, so a large range is never held whole.
    func streamCells(
        _ conn: PostgresConnection, _ source: CellSource, buckets: ClosedRange<Int64>, partRows: Int,
        sink: (Delta) async throws -> Void
    ) async throws {
        let lo = buckets.lowerBound
        let hi = buckets.upperBound
        let bucketOf: (Int64) -> Int64
        if case .downsample = source { bucketOf = { floorDiv($0, 60) * 60 } } else { bucketOf = { $0 } }
        /// The statement reading `columns` of `table` in `buckets`; `key` names a cell (series and minute).
        func rows(_ table: String, key: String, _ columns: String) async throws -> PostgresRowSequence {
            switch source {
            case .compact:
                return try await conn.query(
                    Self.compactionQuery(schema: schema, table: table, key: key, columns: columns, minutes: buckets),
                    logger: logger)
            case .downsample:
                return try await conn.query(
                    """
                    SELECT \(unescaped: columns) FROM \(unescaped: schema).\(unescaped: table)
                    WHERE minute BETWEEN \(lo) AND \(hi)
                    """, logger: logger)
            case .commits(let minutes, let collectors, let positions):
                return try await conn.query(
                    """
                    SELECT \(unescaped: columns) FROM \(unescaped: schema).\(unescaped: table)
                    WHERE minute BETWEEN \(lo) AND \(hi) AND minute = ANY(\(minutes)::int8[])
                      AND (collector, position) IN (SELECT * FROM unnest(\(collectors)::text[], \(positions)::int8[]))
                    """, logger: logger)
            case .read(let service):
                return try await conn.query(
                    """
                    SELECT \(unescaped: columns) FROM \(unescaped: schema).\(unescaped: table)
                    WHERE minute BETWEEN \(lo) AND \(hi) AND (\(service)::text IS NULL OR service = \(service))
                    UNION ALL
                    SELECT \(unescaped: columns) FROM \(unescaped: schema).\(unescaped: table)_hourly
                    WHERE minute BETWEEN \(lo) AND \(hi) AND (\(service)::text IS NULL OR service = \(service))
                    """, logger: logger)
            }
        }
        var part = Delta()
        var count = 0
        func counted() async throws {
            count += 1
            if count >= partRows {
                try await sink(part)
                (part, count) = (Delta(), 0)
            }
        }
        let requestRows = try await rows(
            "request_rollups", key: "service, route, method, minute",
            "service, route, method, minute, count, errors, c1, c2, c3, c4, c5, latency")
        for try await row in requestRows {
            let (s, r, m, minute, n, e, c1, c2, c3, c4, c5, lat) = try row.decode(
                (String, String, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, ByteBuffer).self)
            var stats = RequestStats()
            stats.count = UInt64(n)
            stats.errors = UInt64(e)
            stats.class1xx = UInt64(c1)
            stats.class2xx = UInt64(c2)
            stats.class3xx = UInt64(c3)
            stats.class4xx = UInt64(c4)
            stats.class5xx = UInt64(c5)
            stats.latency = try Self.sketch(lat)
            part.requests[
                Bucketed(RequestKey(service: s, route: r, method: m), bucket: bucketOf(minute)), default: RequestStats()
            ].merge(stats)
            try await counted()
        }
        let jobRows = try await rows(
            "job_rollups", key: "service, queue, job, minute",
            "service, queue, job, minute, enqueued, started, succeeded, failed, retried, duration, wait, wait_retracted")
        for try await row in jobRows {
            let (key, stats) = try Self.jobCell(row)
            part.jobs[Bucketed(key.key, bucket: bucketOf(key.bucket)), default: JobStats()].merge(stats)
            try await counted()
        }
        let logRows = try await rows("log_rollups", key: "service, minute", "service, minute, debug, info, warn, error, fatal")
        for try await (s, minute, d, i, w, e, f) in logRows.decode((String, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            var stats = LogStats()
            stats.debug = UInt64(d)
            stats.info = UInt64(i)
            stats.warn = UInt64(w)
            stats.error = UInt64(e)
            stats.fatal = UInt64(f)
            part.logs[Bucketed(s, bucket: bucketOf(minute)), default: LogStats()].merge(stats)
            try await counted()
        }
        if !part.isEmpty { try await sink(part) }
    }

    public func services() async throws -> [String] {
        try await withPostgresRead { [self] in
            let rows = try await client.query(
                """
                SELECT service FROM \(unescaped: schema).request_rollups
                UNION SELECT service FROM \(unescaped: schema).job_rollups
                UNION SELECT service FROM \(unescaped: schema).log_rollups
                UNION SELECT service FROM \(unescaped: schema).request_rollups_hourly
                UNION SELECT service FROM \(unescaped: schema).job_rollups_hourly
                UNION SELECT service FROM \(unescaped: schema).log_rollups_hourly ORDER BY 1
                """, logger: logger)
            var out: [String] = []
            for try await (s) in rows.decode(String.self) { out.append(s) }
            return out
        }
    }

    public func ping() async throws {
        try await withPostgresRead { [self] in try await client.query("SELECT 1", logger: logger) }
    }

    /// A `job_rollups` row as read by ``cells(_:delete:service:buckets:)``: its cell and statistics.
    static func jobCell(_ row: PostgresRow) throws -> (Bucketed<JobKey>, JobStats) {
        let (s, q, j, minute, enq, st, ok, f, rt, d, w, x) = try row.decode(
            (String, String, String, Int64, Int64, Int64, Int64, Int64, Int64, ByteBuffer, ByteBuffer, ByteBuffer?).self)
        var stats = JobStats()
        stats.enqueued = UInt64(enq)
        stats.started = UInt64(st)
        stats.succeeded = UInt64(ok)
        stats.failed = UInt64(f)
        stats.retried = UInt64(rt)
        stats.duration = try sketch(d)
        stats.wait = try sketch(w)
        // NULL in rows written before the column existed, empty when nothing was retracted.
        if let x, x.readableBytes > 0 { stats.waitRetracted = try sketch(x) }
        return (Bucketed(JobKey(service: s, queue: q, job: j), bucket: minute), stats)
    }

    static func sketch(_ buffer: ByteBuffer) throws -> LogSketch {
        do {
            return try LogSketch(decoding: buffer.readableBytesView)
        } catch {
            throw StorageError(.corrupt, "a stored latency sketch cannot be decoded: \(error)")
        }
    }

    @discardableResult
    func wrap<T>(_ body: () async throws -> T) async throws -> T { try await withPostgresErrors(body) }
}
