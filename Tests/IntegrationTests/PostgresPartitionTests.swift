import Collector
import Foundation
import Logging
import OpsightMetrics
import PostgresNIO
import PostgresURL
import Storage
import Testing

private let env = ProcessInfo.processInfo.environment

/// Runs `body` with a client on `url` and a fresh schema (migrated through `through`), dropped afterwards.
func withMigratedSchema(
    url: String? = env["OPSIGHT_TEST_DATABASE_URL"], prefix: String, through: Int = .max,
    _ body: (PostgresClient, String) async throws -> Void
) async throws {
    let logger = Logger(label: "test")
    let client = PostgresClient(configuration: try PostgresURL(url!).clientConfiguration, backgroundLogger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        let schema = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        var failure: (any Error)?
        do {
            try await Migrations.migrate(client: client, schema: schema, through: through, logger: logger)
            try await body(client, schema)
        } catch {
            failure = error
        }
        _ = try? await client.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE")
        group.cancelAll()
        if let failure { throw failure }
    }
}

/// The cells of `delta` whose bucket (minute index) passes `keep`.
func cells(of delta: Delta, where keep: (Int64) -> Bool) -> Delta {
    var out = Delta()
    out.requests = delta.requests.filter { keep($0.key.bucket) }
    out.jobs = delta.jobs.filter { keep($0.key.bucket) }
    out.logs = delta.logs.filter { keep($0.key.bucket) }
    out.funnelSteps = delta.funnelSteps.filter { keep(TimeBucket.index(ofMs: $0.timestampMs, widthMs: 60_000)) }
    return out
}

/// Events of three services spread over the last `days` days (requests, jobs and logs).
func spreadEvents(count: Int, days: Int64, nowMs: Int64, seed: UInt64) -> [Event] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { i in
        let ts = nowMs - Int64.random(in: 0..<(days * 86_400_000), using: &rng)
        let service = ["api", "worker", "web"].randomElement(using: &rng)!
        switch i % 4 {
        case 0, 1:
            var e = Event(timestampMs: ts, service: service, kind: .request)
            e.route = ["/a", "/b/:id"].randomElement(using: &rng)!
            e.method = "GET"
            e.status = [200, 404, 500].randomElement(using: &rng)!
            e.durationMs = exp(Double.random(in: -3...9, using: &rng))
            return e
        case 2:
            var e = Event(timestampMs: ts, service: service, kind: .job)
            e.queue = "q"
            e.job = "mail"
            e.jobID = "\(i)"
            e.jobEvent = [.succeeded, .failed].randomElement(using: &rng)!
            e.durationMs = Double.random(in: 0...1000, using: &rng)
            return e
        default:
            var e = Event(timestampMs: ts, service: service, kind: .log)
            e.level = LogLevel.allCases.randomElement(using: &rng)!
            return e
        }
    }
}

/// Rollups and funnel records partitioned by day (migration 5): an existing database keeps its rows through the
/// upgrade, retention drops whole days, old days are downsampled to hourly rows that reads keep answering from,
/// and a partition dropped under a collector's feet is created again instead of the delta being refused.
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct PostgresPartitionTests {
    let logger = Logger(label: "test")
    static let day: Int64 = 86_400_000

    /// ``spreadEvents(count:days:nowMs:seed:)`` folded into the `withinMs` before `nowMs`.
    func recentEvents(count: Int, withinMs: Int64, nowMs: Int64, seed: UInt64) -> [Event] {
        spreadEvents(count: count, days: 1, nowMs: nowMs, seed: seed).map { e in
            var e = e
            e.timestampMs = nowMs - (nowMs - e.timestampMs) % withinMs
            return e
        }
    }

    func scalar(_ client: PostgresClient, _ sql: String) async throws -> Int64 {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql))
        for try await n in rows.decode(Int64.self) { return n }
        return -1
    }

    @Test func upgradeFromVersion4PartitionsTheTablesAndKeepsEveryRow() async throws {
        try await withMigratedSchema(prefix: "test_upgrade", through: 4) { client, schema in
            let q = "\"\(schema)\""
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let events = spreadEvents(count: 400, days: 3, nowMs: now, seed: 3)
            let whole = BatchAggregate(events: events, rules: .init()).durable
            // Rows as version 4 wrote them, two per cell (two flushes), to unpartitioned tables.
            for _ in 0..<2 {
                for (k, v) in whole.requests {
                    try await client.query(
                        """
                        INSERT INTO \(unescaped: q).request_rollups
                            (service, route, method, minute, count, errors, c1, c2, c3, c4, c5, latency, collector, position)
                        VALUES (\(k.key.service), \(k.key.route), \(k.key.method), \(k.bucket), \(Int64(v.count)),
                                \(Int64(v.errors)), \(Int64(v.class1xx)), \(Int64(v.class2xx)), \(Int64(v.class3xx)),
                                \(Int64(v.class4xx)), \(Int64(v.class5xx)), \(ByteBuffer(bytes: v.latency.encoded())), 'c', 1)
                        """)
                }
                for (k, v) in whole.jobs {
                    try await client.query(
                        """
                        INSERT INTO \(unescaped: q).job_rollups (service, queue, job, minute, enqueued, started, succeeded,
                            failed, retried, duration, wait, collector, position)
                        VALUES (\(k.key.service), \(k.key.queue), \(k.key.job), \(k.bucket), \(Int64(v.enqueued)),
                                \(Int64(v.started)), \(Int64(v.succeeded)), \(Int64(v.failed)), \(Int64(v.retried)),
                                \(ByteBuffer(bytes: v.duration.encoded())), \(ByteBuffer(bytes: v.wait.encoded())), 'c', 1)
                        """)
                }
                for (k, v) in whole.logs {
                    try await client.query(
                        """
                        INSERT INTO \(unescaped: q).log_rollups (service, minute, debug, info, warn, error, fatal, collector,
                            position)
                        VALUES (\(k.key), \(k.bucket), \(Int64(v.debug)), \(Int64(v.info)), \(Int64(v.warn)),
                                \(Int64(v.error)), \(Int64(v.fatal)), 'c', 1)
                        """)
                }
            }
            let records = (0..<50).map {
                FunnelStepRecord(funnel: "f", step: $0 % 3, entity: "u\($0)", timestampMs: now - Int64($0) * 3_600_000)
            }
            for r in records {
                try await client.query(
                    """
                    INSERT INTO \(unescaped: q).funnel_steps (funnel, ts_ms, step, entity)
                    VALUES (\(r.funnel), \(r.timestampMs), \(Int16(r.step)), \(r.entity))
                    """)
            }
            try await client.query("INSERT INTO \(unescaped: q).leases VALUES ('alerting', 'x', 1)")

            #expect(try await Migrations.migrate(client: client, schema: schema, logger: logger) == Array(5...Migrations.latestVersion))

            // Partitioned, one partition per day that held rows, every row moved over.
            for table in ["request_rollups", "job_rollups", "log_rollups", "funnel_steps"] {
                #expect(
                    try await scalar(
                        client,
                        """
                        SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
                        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '\(schema)' AND c.relname = '\(table)'
                        """) == 1, "\(table) is partitioned")
            }
            let days = Set(whole.requests.keys.map { Int64(floor(Double($0.bucket) / 1440)) })
            #expect(
                try await scalar(
                    client,
                    """
                    SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                    JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = '\(schema)'
                        AND p.relname = 'request_rollups'
                    """) == Int64(days.count))
            #expect(
                try await scalar(client, "SELECT count(*) FROM \(q).request_rollups") == Int64(2 * whole.requests.count)
            )
            let store = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
            var doubled = WindowData()
            doubled.merge(whole)
            doubled.merge(whole)
            #expect(try await store.read(service: nil, buckets: Int64.min...Int64.max) == doubled)
            let read = try await store.funnelSteps(funnel: "f", afterMs: 0, throughMs: now)
            #expect(Set(read) == Set(records))
            // The lease row got a token; new writes land in (new) partitions.
            #expect(try await scalar(client, "SELECT count(*) FROM \(q).leases WHERE token IS NOT NULL") == 1)
            try await store.commit(whole, position: 2, collector: "c")
            doubled.merge(whole)
            #expect(try await store.read(service: nil, buckets: Int64.min...Int64.max) == doubled)
        }
    }

    @Test func retentionDropsOldDaysAndDownsampledDaysReadFromHourlyRows() async throws {
        try await withMigratedSchema(prefix: "test_downsample") { client, schema in
            let q = "\"\(schema)\""
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let events = spreadEvents(count: 6_000, days: 12, nowMs: now, seed: 7)
            var whole = BatchAggregate(events: events, rules: .init()).durable
            var rng = SplitMix64(seed: 9)
            whole.funnelSteps = Set(
                (0..<300).map {
                    FunnelStepRecord(
                        funnel: "f", step: $0 % 3, entity: "u\($0)",
                        timestampMs: now - Int64.random(in: 0..<(12 * Self.day), using: &rng))
                })
            let store = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
            // Two commits, as two flushes: every cell twice.
            try await store.commit(whole, position: 1, collector: "a")
            try await store.commit(whole, position: 1, collector: "b")

            let retention = PostgresRetention(
                client: client, schema: schema,
                configuration: .init(
                    alertHistoryMs: nil, notificationsMs: nil, funnelRecordsMs: 9 * Self.day, rollupsMs: 9 * Self.day,
                    rollupsDownsampleAfterMs: 4 * Self.day),
                logger: logger)
            let result = try await retention.sweep(nowMs: now)

            // The day of a minute index, and which days went where.
            func dayOf(_ minute: Int64) -> Int64 { Int64(floor(Double(minute) / 1440)) }
            let dropped: (Int64) -> Bool = { (dayOf($0) + 1) * Self.day <= now - 9 * Self.day }
            let hourly: (Int64) -> Bool = { !dropped($0) && (dayOf($0) + 1) * Self.day <= now - 4 * Self.day }
            let allMinutes =
                whole.requests.keys.map(\.bucket) + whole.jobs.keys.map(\.bucket) + whole.logs.keys.map(\.bucket)
            let downsampledDays = Set(allMinutes.filter(hourly).map(dayOf))
            #expect(downsampledDays.count >= 3)
            #expect(result["rollup_days_downsampled"] == downsampledDays.count)

            // A read from an hour's first minute: exact, from hourly rows for the old days and minute rows after.
            let kept = cells(of: whole, where: { !dropped($0) })
            let firstHour = (allMinutes.filter(hourly).min()! / 60 + 1) * 60
            var expected = WindowData()
            expected.merge(cells(of: kept, where: { $0 >= firstHour }))
            expected.merge(cells(of: kept, where: { $0 >= firstHour }))
            #expect(try await store.read(service: nil, buckets: firstHour...Int64.max) == expected)
            // From the middle of a downsampled hour: that hour is not counted, the next ones are.
            #expect(try await store.read(service: nil, buckets: (firstHour - 37)...Int64.max) == expected)
            // One service, a range ending in the minute-resolution days.
            let lastHourly = allMinutes.filter(hourly).max()!
            let end = lastHourly + 2 * 1_440 + 17
            var web = WindowData()
            for _ in 0..<2 { web.merge(cells(of: kept, where: { $0 >= firstHour && $0 <= end })) }
            web = web.filtered(service: "web")
            #expect(try await store.read(service: "web", buckets: firstHour...end) == web)
            // Everything: the dropped days are gone.
            var all = WindowData()
            all.merge(kept)
            all.merge(kept)
            #expect(try await store.read(service: nil, buckets: Int64.min...Int64.max) == all)

            // One hourly row per series and hour; no 1-minute partition left for those days, none for dropped days.
            var hours = Set<String>()
            for k in whole.requests.keys where hourly(k.bucket) { hours.insert("\(k.key)|\(k.bucket / 60)") }
            #expect(try await scalar(client, "SELECT count(*) FROM \(q).request_rollups_hourly") == Int64(hours.count))
            let minuteDays = try await store.minuteRollupDays()
            #expect(minuteDays.allSatisfy { (($0 + 1) * Self.day) > now - 4 * Self.day })
            // Partitions ahead: today and the next two days exist.
            let today = now / Self.day
            for table in ["request_rollups", "funnel_steps", "raw_events"] {
                for d in today...(today + 2) {
                    #expect(
                        try await scalar(
                            client,
                            "SELECT count(*) FROM pg_tables WHERE schemaname = '\(schema)' AND tablename = '\(table)_d\(d)'"
                        ) == 1)
                }
            }
            // Funnel records: whole days older than the retention are gone, the rest are all there.
            let steps = try await store.funnelSteps(funnel: "f", afterMs: 0, throughMs: now)
            let keptSteps = whole.funnelSteps.filter {
                (PartitionedTable.day(ofMs: $0.timestampMs) + 1) * Self.day > now - 9 * Self.day
            }
            #expect(Set(steps) == keptSteps)
            #expect(keptSteps.count < whole.funnelSteps.count)

            // A second sweep changes nothing.
            let again = try await retention.sweep(nowMs: now)
            #expect(again["rollup_days_downsampled"] == 0)
            #expect(again["rollup_partitions"] == 0)
            #expect(try await store.read(service: nil, buckets: Int64.min...Int64.max) == all)

            // A replay into a downsampled day (a log that old) lands in a new minute partition and is summed in.
            let late = cells(of: whole, where: { dayOf($0) == downsampledDays.min()! })
            try await store.commit(late, position: 2, collector: "a")
            all.merge(late)
            #expect(try await store.read(service: nil, buckets: Int64.min...Int64.max) == all)
            _ = try await retention.sweep(nowMs: now)
            #expect(try await store.read(service: nil, buckets: Int64.min...Int64.max) == all)
        }
    }

    @Test func aPartitionDroppedBehindTheStoresBackIsCreatedAgainNotRefused() async throws {
        try await withMigratedSchema(prefix: "test_gone") { client, schema in
            let q = "\"\(schema)\""
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let events = spreadEvents(count: 200, days: 1, nowMs: now - 20 * Self.day, seed: 1)
            let delta = BatchAggregate(events: events, rules: .init()).durable
            let store = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
            try await store.commit(delta, position: 1, collector: "a")
            // Another collector's retention drops the day this store has cached as present.
            for d in Set(delta.requests.keys.map { Int64(floor(Double($0.bucket) / 1440)) }) {
                try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE \(q).\"request_rollups_d\(d)\""))
            }
            try await store.commit(delta, position: 2, collector: "a")
            var expected = WindowData()
            expected.merge(delta)
            let read = try await store.read(service: nil, buckets: Int64.min...Int64.max)
            #expect(read.requests == expected.requests)
            #expect(try await store.committedPosition(collector: "a") == 2)
        }
    }

    /// Compaction goes through the occupied minutes a few at a time (one transaction each, so a shipment of the last
    /// hour is never merged whole in memory), and still leaves one row per series and minute with every figure
    /// unchanged — over a range far wider than the rows (a day back, as the flusher starts; `Int64.min`, as a tool
    /// may ask) and with minutes both sides of slice edges.
    @Test func compactionInSlicesMergesEveryMinuteAndChangesNoFigure() async throws {
        try await withMigratedSchema(prefix: "test_compact") { client, schema in
            let q = "\"\(schema)\""
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            // 2 hours of events: ~120 occupied minutes, 24 slices.
            let events = recentEvents(count: 6_000, withinMs: 2 * 3_600_000, nowMs: now, seed: 21)
            let whole = BatchAggregate(events: events, rules: .init()).durable
            let store = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
            // Three flushes: every cell three times over.
            for (i, c) in ["a", "b", "c"].enumerated() { try await store.commit(whole, position: UInt64(i + 1), collector: c) }
            var tripled = WindowData()
            for _ in 0..<3 { tripled.merge(whole) }
            let minute = now / 60_000
            #expect(try await scalar(client, "SELECT count(*) FROM \(q).request_rollups") == Int64(3 * whole.requests.count))

            try await store.compact(buckets: (minute - 1_440)...(minute - 60))
            let older = whole.requests.keys.filter { $0.bucket <= minute - 60 }.count
            #expect(
                try await scalar(client, "SELECT count(*) FROM \(q).request_rollups")
                    == Int64(older + 3 * (whole.requests.count - older)))
            try await store.compact(buckets: Int64.min...Int64.max)
            #expect(try await scalar(client, "SELECT count(*) FROM \(q).request_rollups") == Int64(whole.requests.count))
            #expect(try await scalar(client, "SELECT count(*) FROM \(q).job_rollups") == Int64(whole.jobs.count))
            #expect(try await scalar(client, "SELECT count(*) FROM \(q).log_rollups") == Int64(whole.logs.count))
            #expect(try await store.read(service: nil, buckets: Int64.min...Int64.max) == tripled)
            // Nothing left to merge: compacting again changes nothing, and an empty range is no error.
            try await store.compact(buckets: Int64.min...Int64.max)
            try await store.compact(buckets: (minute + 10)...(minute + 20))
            #expect(try await store.read(service: nil, buckets: Int64.min...Int64.max) == tripled)
        }
    }

    /// Compaction leaves a cell of one row as it is (its commit's collector and position kept) and merges only the
    /// cells of several rows: a shipped hour's minutes hold mostly one row per cell, and rewriting every row cost
    /// ~5 CPU-s a shipment for nothing.
    @Test func compactionRewritesOnlyCellsOfSeveralRows() async throws {
        try await withMigratedSchema(prefix: "test_compact_once") { client, schema in
            let q = "\"\(schema)\""
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let events = recentEvents(count: 3_000, withinMs: 3_600_000, nowMs: now, seed: 22)
            let whole = BatchAggregate(events: events, rules: .init()).durable
            // A second commit touching every fifth request cell, one job cell and one log cell again.
            var again = Delta()
            for (i, (k, v)) in whole.requests.enumerated() where i % 5 == 0 { again.requests[k] = v }
            if let (k, v) = whole.jobs.first { again.jobs[k] = v }
            if let (k, v) = whole.logs.first { again.logs[k] = v }
            let store = PostgresDurableStore(client: client, configuration: .init(schema: schema), logger: logger)
            try await store.commit(whole, position: 1, collector: "a")
            try await store.commit(again, position: 2, collector: "b")
            var expected = WindowData()
            expected.merge(whole)
            expected.merge(again)
            try await store.compact(buckets: Int64.min...Int64.max)
            for (table, all, twice) in [
                ("request_rollups", whole.requests.count, again.requests.count),
                ("job_rollups", whole.jobs.count, again.jobs.count), ("log_rollups", whole.logs.count, again.logs.count),
            ] {
                #expect(try await scalar(client, "SELECT count(*) FROM \(q).\(table)") == Int64(all), "\(table)")
                #expect(
                    try await scalar(client, "SELECT count(*) FROM \(q).\(table) WHERE collector = 'compacted'")
                        == Int64(twice), "\(table): only the cells of two rows are rewritten")
                #expect(
                    try await scalar(client, "SELECT count(*) FROM \(q).\(table) WHERE collector = 'a' AND position = 1")
                        == Int64(all - twice), "\(table): the cells of one row keep their commit's")
            }
            #expect(try await store.read(service: nil, buckets: Int64.min...Int64.max) == expected)
        }
    }
}
