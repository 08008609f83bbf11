import Collector
import OpsightMetrics
import PostgresNIO

/// The durable store as a ``ChangeFeed`` over its minutes, for the cache that keeps the windows over an hour
/// (`WindowCache.Configuration.durable`): without it, `/metrics` and every rule over `6h` or `1d` at 10 000 series
/// sums ~14 million rows per read.
///
/// Each commit that writes rollups adds, in its transaction, an entry to `rollup_changes`: its collector, its
/// position and the minutes it touched (after queue-wait pairing, which can touch an earlier minute). A poll runs in
/// one `REPEATABLE READ` snapshot: the entries, the rows of the new ones (by collector and position, in the minutes
/// the reader holds), and the contents of the minutes it asks for — so contents and changes agree exactly. A
/// collector's commits are serialised (its `wal_positions` row), so the entries visible in a snapshot are, per
/// collector, every position up to some point: the cursor is that point per collector.
///
/// Compaction rewrites rows (their collector and position are lost in the merge) without changing any sum; it adds
/// an entry too. A poll that finds a new compaction over a minute that a new commit touched cannot tell that
/// commit's rows from the merged ones, and reports a gap (the reader starts over). Entries are kept ten minutes, and a
/// reader that last polled more than five minutes ago (by the database's clock) also starts over.
extension PostgresDurableStore: ChangeFeed {
    /// How long change entries are kept, seconds.
    static let changeRetentionSeconds: Int64 = 600
    /// The collector name of compaction entries.
    static let compactionEntry = "compaction"

    /// Notes `delta`'s minutes in the change log, in the commit's transaction, and drops this collector's entries
    /// older than the retention.
    func logChange(_ delta: Delta, conn: PostgresConnection, collector: String, position: Int64) async throws {
        var minutes = Set(delta.requests.keys.map(\.bucket))
        minutes.formUnion(delta.jobs.keys.map(\.bucket))
        minutes.formUnion(delta.logs.keys.map(\.bucket))
        guard !minutes.isEmpty else { return }
        try await conn.query(
            """
            INSERT INTO \(unescaped: schema).rollup_changes (collector, position, minutes)
            VALUES (\(collector), \(position), \(minutes.sorted())::int8[])
            """, logger: logger)
        try await conn.query(
            """
            DELETE FROM \(unescaped: schema).rollup_changes
            WHERE collector = \(collector) AND at < now() - make_interval(secs => \(Self.changeRetentionSeconds))
            """, logger: logger)
    }

    /// Notes a compaction of `buckets` (under the compaction lock, so the sequence follows the commit order).
    func logCompaction(_ buckets: ClosedRange<Int64>, conn: PostgresConnection) async throws {
        try await conn.query(
            """
            INSERT INTO \(unescaped: schema).rollup_changes (collector, position, minutes)
            VALUES (\(Self.compactionEntry), nextval('\(unescaped: schema).rollup_compactions'),
                    \([buckets.lowerBound, buckets.upperBound])::int8[])
            """, logger: logger)
        try await conn.query(
            """
            DELETE FROM \(unescaped: schema).rollup_changes
            WHERE collector = \(Self.compactionEntry) AND at < now() - make_interval(secs => \(Self.changeRetentionSeconds))
            """, logger: logger)
    }

    public func poll(after cursor: FeedCursor?, buckets: [Int64]) async throws -> FeedPoll {
        try await poll(after: cursor, buckets: buckets, changesWithin: nil)
    }

    public func poll(after cursor: FeedCursor?, buckets: [Int64], changesWithin: ClosedRange<Int64>?) async throws
        -> FeedPoll
    {
        // Readers wait for polls: while PostgreSQL is away they get their 503 at the read deadline, as direct reads do.
        try await withPostgresRead {
            try await self.pollInSnapshot(after: cursor, buckets: buckets, changesWithin: changesWithin)
        }
    }

    /// How long the first read of the windows (a day of minutes) may take before it is given up and retried.
    static let sumsTimeout: Duration = .seconds(120)

    private func pollInSnapshot(after cursor: FeedCursor?, buckets: [Int64], changesWithin: ClosedRange<Int64>?)
        async throws -> FeedPoll
    {
        try await inSnapshot { conn in
            let log = try await self.changeLog(conn)
            var gap = false
            var changes: [FeedChange] = []
            if let cursor {
                if let seen = Self.positions(cursor),
                    Int64(cursor.sequence) >= log.nowMs - Self.changeRetentionSeconds * 500
                {
                    let new = log.entries.filter { $0.position > seen[$0.collector] ?? Int64.min }
                    let commits = new.filter { $0.collector != Self.compactionEntry }
                    let compacted = new.filter { $0.collector == Self.compactionEntry }.compactMap {
                        e -> ClosedRange<Int64>? in
                        guard e.minutes.count == 2, e.minutes[0] <= e.minutes[1] else { return nil }
                        return e.minutes[0]...e.minutes[1]
                    }
                    let within = changesWithin ?? Int64.min...Int64.max
                    var minutes = Set<Int64>()
                    var collectors: [String] = []
                    var positions: [Int64] = []
                    // This store's own commits come from memory (``OwnRollups``); only the others' rows are read.
                    // The commits' cells stay one delta each and the rows come in parts: merged into one delta, a
                    // shipped hour's commits (a cell per series and minute) grew a dictionary of every cell twice
                    // over while its old storage was still held — the collector's peak RSS (page faults, perf).
                    var deltas: [Delta] = []
                    for commit in commits {
                        let touched = commit.minutes.filter { within.contains($0) }
                        guard !touched.isEmpty else { continue }
                        if let mine = self.own.take(collector: commit.collector, position: commit.position) {
                            let cells = Self.cells(of: mine, within: within)
                            if !cells.isEmpty { deltas.append(cells) }
                            continue
                        }
                        minutes.formUnion(touched)
                        collectors.append(commit.collector)
                        positions.append(commit.position)
                    }
                    if minutes.contains(where: { m in compacted.contains { $0.contains(m) } }) {
                        // A commit's rows may have been merged by the compaction: they cannot be told apart.
                        gap = true
                    } else {
                        if let lo = minutes.min(), let hi = minutes.max() {
                            try await self.streamCells(
                                conn, .commits(minutes: minutes.sorted(), collectors: collectors, positions: positions),
                                buckets: lo...hi, partRows: self.changeRowsPerPart
                            ) { part in if !part.isEmpty { deltas.append(part) } }
                        }
                        if !deltas.isEmpty { changes.append(FeedChange(deltas: deltas)) }
                    }
                } else {
                    gap = true
                }
            }
            var contents: [Int64: WindowData] = [:]
            if !gap {
                for run in Self.runs(buckets) {
                    try await self.streamCells(conn, .read(service: nil), buckets: run, partRows: 50_000) { part in
                        for (b, d) in part.byBucket { contents[b, default: WindowData()].merge(d) }
                    }
                }
            }
            if let seen = Self.positions(log.cursor) { self.own.forget(through: seen) }
            return FeedPoll(cursor: log.cursor, changes: gap ? [] : changes, gap: gap, buckets: contents)
        }
    }

    /// The cells of `delta` in the minutes of `within`: what reading its rows there gives.
    static func cells(of delta: Delta, within: ClosedRange<Int64>) -> Delta {
        guard within != Int64.min...Int64.max else { return delta }
        var out = Delta()
        out.requests = delta.requests.filter { within.contains($0.key.bucket) }
        out.jobs = delta.jobs.filter { within.contains($0.key.bucket) }
        out.logs = delta.logs.filter { within.contains($0.key.bucket) }
        return out
    }

    /// The sums of the rows in each of `ranges` and the cursor they are as of, in one snapshot; the rows of their
    /// union are read once, in parts, so a day of minutes is never held whole.
    public func sums(over ranges: [ClosedRange<Int64>]) async throws -> (cursor: FeedCursor, sums: [WindowData]) {
        try await Deadline.run(
            Self.sumsTimeout,
            expired: { StorageError(.postgres, "PostgreSQL did not answer within \(Self.sumsTimeout)") }
        ) { try await self.sumsInSnapshot(over: ranges) }
    }

    private func sumsInSnapshot(over ranges: [ClosedRange<Int64>]) async throws -> (
        cursor: FeedCursor, sums: [WindowData]
    ) {
        try await inSnapshot { conn in
            let log = try await self.changeLog(conn)
            var sums = Array(repeating: WindowData(), count: ranges.count)
            if let lo = ranges.map(\.lowerBound).min(), let hi = ranges.map(\.upperBound).max(), lo <= hi {
                try await self.streamCells(conn, .read(service: nil), buckets: lo...hi, partRows: 50_000) { part in
                    for (b, d) in part.byBucket {
                        for (i, r) in ranges.enumerated() where r.contains(b) { sums[i].merge(d) }
                    }
                }
            }
            return (log.cursor, sums)
        }
    }

    /// One change log entry.
    struct ChangeEntry {
        var collector: String
        var position: Int64
        var minutes: [Int64]
    }

    /// The change log as the snapshot sees it, the database's time, and the cursor at its end.
    private func changeLog(_ conn: PostgresConnection) async throws -> (
        entries: [ChangeEntry], nowMs: Int64, cursor: FeedCursor
    ) {
        var nowMs: Int64 = 0
        for try await (ms) in try await conn.query(
            "SELECT (extract(epoch FROM now()) * 1000)::int8", logger: logger
        ).decode(Int64.self) { nowMs = ms }
        var entries: [ChangeEntry] = []
        var latest: [String: Int64] = [:]
        let rows = try await conn.query(
            "SELECT collector, position, minutes FROM \(unescaped: schema).rollup_changes", logger: logger)
        for try await (collector, position, minutes) in rows.decode((String, Int64, [Int64]).self) {
            entries.append(ChangeEntry(collector: collector, position: position, minutes: minutes))
            latest[collector] = max(latest[collector] ?? Int64.min, position)
        }
        let id = latest.sorted { $0.key < $1.key }.map { "\($0.key)\(Self.fieldSeparator)\($0.value)" }
            .joined(separator: Self.entrySeparator)
        return (entries, nowMs, FeedCursor(sequence: UInt64(max(0, nowMs)), id: id))
    }

    private static let fieldSeparator = "\u{1f}"
    private static let entrySeparator = "\u{1e}"

    /// The latest position seen per collector, from a cursor's id; nil when it is not one of ours.
    static func positions(_ cursor: FeedCursor) -> [String: Int64]? {
        var out: [String: Int64] = [:]
        for entry in cursor.id.split(separator: Character(entrySeparator)) {
            let parts = entry.split(separator: Character(fieldSeparator), omittingEmptySubsequences: false)
            guard parts.count == 2, let position = Int64(parts[1]) else { return nil }
            out[String(parts[0])] = position
        }
        return out
    }

    /// `buckets` as runs of consecutive minutes, each read with one statement.
    static func runs(_ buckets: [Int64]) -> [ClosedRange<Int64>] {
        var out: [ClosedRange<Int64>] = []
        for b in Set(buckets).sorted() {
            if let last = out.last, last.upperBound == b - 1 {
                out[out.count - 1] = last.lowerBound...b
            } else {
                out.append(b...b)
            }
        }
        return out
    }

    /// Runs `body` in a read-only `REPEATABLE READ` transaction: every statement sees the same snapshot.
    private func inSnapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws -> T
    {
        try await wrap {
            try await client.withConnection { conn in
                try await conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: self.logger)
                do {
                    let result = try await body(conn)
                    try await conn.query("COMMIT", logger: self.logger)
                    return result
                } catch {
                    _ = try? await conn.query("ROLLBACK", logger: self.logger)
                    throw error
                }
            }
        }
    }
}
