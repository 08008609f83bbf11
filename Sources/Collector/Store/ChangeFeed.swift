/// A store's log of committed deltas, read together with bucket contents so that a reader can keep window
/// sums in memory and stay exactly equal to what a full read would return.
///
/// Every commit appends its hot delta to the feed in the same transaction as the bucket increments, so a
/// ``FeedPoll`` is one consistent point: its `buckets` hold exactly the changes up to its `cursor`.
public protocol ChangeFeed: Sendable {
    /// In one atomic step: the changes committed after `cursor` (nil: none, just the current cursor) and the
    /// contents of `buckets` for every service, as of the returned cursor.
    func poll(after cursor: FeedCursor?, buckets: [Int64]) async throws -> FeedPoll
    /// ``poll(after:buckets:)``, where the reader needs only the changes to buckets in `changesWithin` (nil: all):
    /// a feed may leave the others out (the durable store reads the rows of the changes it returns).
    func poll(after cursor: FeedCursor?, buckets: [Int64], changesWithin: ClosedRange<Int64>?) async throws -> FeedPoll
    /// The sums of the buckets in each of `ranges` and the cursor they are as of, in one atomic step.
    func sums(over ranges: [ClosedRange<Int64>]) async throws -> (cursor: FeedCursor, sums: [WindowData])
    /// ``sums(over:)`` and, as of the same cursor, the store's running totals (``MetricsStore/totals()``), which
    /// every later change adds to (``WindowData/addCounts(of:)``); nil totals when this feed cannot read both at once.
    func sumsAndTotals(over ranges: [ClosedRange<Int64>]) async throws -> (
        cursor: FeedCursor, sums: [WindowData], totals: WindowData?
    )
}

extension ChangeFeed {
    /// The sums of the buckets in each of `ranges` and the cursor they are as of, in one atomic step (where a
    /// reader starts, or starts over). This default reads every bucket of their union.
    public func sums(over ranges: [ClosedRange<Int64>]) async throws -> (cursor: FeedCursor, sums: [WindowData]) {
        guard let lo = ranges.map(\.lowerBound).min(), let hi = ranges.map(\.upperBound).max(), lo <= hi else {
            return (try await poll(after: nil, buckets: []).cursor, ranges.map { _ in WindowData() })
        }
        let p = try await poll(after: nil, buckets: Array(lo...hi))
        return (p.cursor, ranges.map { WindowData.sum(of: p.buckets, in: $0) })
    }

    /// No totals: ``sums(over:)`` alone.
    public func sumsAndTotals(over ranges: [ClosedRange<Int64>]) async throws -> (
        cursor: FeedCursor, sums: [WindowData], totals: WindowData?
    ) {
        let s = try await sums(over: ranges)
        return (s.cursor, s.sums, nil)
    }

    /// Every change, whatever `changesWithin` says: the hot store's records carry their cells already.
    public func poll(after cursor: FeedCursor?, buckets: [Int64], changesWithin: ClosedRange<Int64>?) async throws
        -> FeedPoll
    {
        try await poll(after: cursor, buckets: buckets)
    }
}

/// A position in a ``ChangeFeed``.
public struct FeedCursor: Sendable, Equatable {
    /// How many changes the feed had received; detects changes trimmed before they were read.
    public var sequence: UInt64
    /// The store's own name for the position (a Redis stream entry id).
    public var id: String
    /// The hot store's epoch the position belongs to: a rebuilt store's feed starts over (``HotEpochStore``).
    public var epoch: String?
    /// Creates the cursor.
    public init(sequence: UInt64, id: String, epoch: String? = nil) {
        self.sequence = sequence
        self.id = id
        self.epoch = epoch
    }
}

/// What one ``ChangeFeed/poll(after:buckets:)`` returns.
public struct FeedPoll: Sendable {
    /// Where the feed is now.
    public var cursor: FeedCursor
    /// The changes after the cursor asked for, oldest first: per commit, its cells.
    public var changes: [FeedChange]
    /// True when changes after the cursor asked for are missing (trimmed, or the store was reset): the reader
    /// must start over from bucket contents.
    public var gap: Bool
    /// The contents of the buckets asked for (absent: empty).
    public var buckets: [Int64: WindowData]
    /// Creates the poll result.
    public init(cursor: FeedCursor, changes: [FeedChange], gap: Bool, buckets: [Int64: WindowData]) {
        self.cursor = cursor
        self.changes = changes
        self.gap = gap
        self.buckets = buckets
    }
}

/// One commit's cells, as a ``ChangeFeed`` reports them: by bucket when read from the store, or as the deltas the commit
/// was made of when this process made it and still holds them (the hot store's `OwnChanges`, the durable store's
/// `OwnRollups`).
///
/// A window cache adds each cell to every window whose buckets hold it (``add(to:ranges:)``), which the
/// deltas allow without first sorting their cells into a dictionary per bucket: shipping a file of the last hour, that
/// sorting was ~3 % of the collector's samples before the shipment was visible (perf, docs/benchmarks.md).
public struct FeedChange: Sendable, Equatable {
    enum Form: Sendable {
        case byBucket([Int64: WindowData])
        case deltas([Delta])
    }
    let form: Form

    /// A change read from the store: its cells by bucket.
    public init(_ byBucket: [Int64: WindowData]) { form = .byBucket(byBucket) }
    /// A change as the deltas of its commit (cells of one series and bucket in two deltas add up).
    public init(deltas: [Delta]) { form = .deltas(deltas) }

    /// The cells by bucket.
    public var byBucket: [Int64: WindowData] {
        switch form {
        case .byBucket(let cells): return cells
        case .deltas(let deltas):
            var out = deltas.first?.byBucket ?? [:]
            for delta in deltas.dropFirst() {
                for (bucket, cells) in delta.byBucket { out[bucket, default: WindowData()].merge(cells) }
            }
            return out
        }
    }

    /// The buckets that have a cell.
    public var buckets: Set<Int64> {
        switch form {
        case .byBucket(let cells): return Set(cells.keys)
        case .deltas(let deltas):
            var out = Set<Int64>()
            for d in deltas {
                for k in d.requests.keys { out.insert(k.bucket) }
                for k in d.jobs.keys { out.insert(k.bucket) }
                for k in d.logs.keys { out.insert(k.bucket) }
            }
            return out
        }
    }

    /// Whether it has no cell.
    public var isEmpty: Bool {
        switch form {
        case .byBucket(let cells): return cells.isEmpty
        case .deltas(let deltas): return deltas.allSatisfy { $0.cellCount == 0 }
        }
    }

    /// The same cells, whatever their form.
    public static func == (a: FeedChange, b: FeedChange) -> Bool { a.byBucket == b.byBucket }
}

extension FeedChange {
    /// Adds each cell to every window `windows[i]` whose buckets `ranges[i]` hold its bucket: one pass over the cells
    /// whatever the number of windows.
    public func add(to windows: inout [WindowData], ranges: [ClosedRange<Int64>]) {
        precondition(windows.count == ranges.count, "one range per window")
        switch form {
        case .byBucket(let cells):
            for (bucket, data) in cells {
                for i in ranges.indices where ranges[i].contains(bucket) { windows[i].merge(data) }
            }
        case .deltas(let deltas):
            for d in deltas {
                for (k, v) in d.requests {
                    for i in ranges.indices where ranges[i].contains(k.bucket) {
                        windows[i].requests[k.key, default: RequestStats()].merge(v)
                    }
                }
                for (k, v) in d.jobs {
                    for i in ranges.indices where ranges[i].contains(k.bucket) {
                        windows[i].jobs[k.key, default: JobStats()].merge(v)
                    }
                }
                for (k, v) in d.logs {
                    for i in ranges.indices where ranges[i].contains(k.bucket) {
                        windows[i].logs[k.key, default: LogStats()].merge(v)
                    }
                }
            }
        }
    }
}

extension FeedChange {
    /// Calls `body` with the bucket and the series of each request cell (a series of one bucket may come more than
    /// once): what tells a reader of the windows which series a change touches (``WindowCache``).
    public func forEachRequestCell(_ body: (Int64, RequestKey) -> Void) {
        switch form {
        case .byBucket(let cells):
            for (bucket, data) in cells {
                for key in data.requests.keys { body(bucket, key) }
            }
        case .deltas(let deltas):
            for d in deltas {
                for k in d.requests.keys { body(k.bucket, k.key) }
            }
        }
    }
}

extension WindowData {
    /// Adds the counts of every cell of `change` that the `_total` counters hold (``addCounts(of:)``), whatever its
    /// bucket.
    public mutating func addCounts(of change: FeedChange) {
        switch change.form {
        case .byBucket(let cells):
            for data in cells.values { addCounts(of: data) }
        case .deltas(let deltas):
            // As ``addCounts(of:)`` does for a window's series, cell by cell.
            for d in deltas {
                for (k, v) in d.requests where v.class1xx | v.class2xx | v.class3xx | v.class4xx | v.class5xx > 0 {
                    Self.addClasses(of: v, to: &requests[k.key, default: RequestStats()])
                }
                for (k, v) in d.jobs where v.enqueued | v.started | v.succeeded | v.failed | v.retried > 0 {
                    Self.addEvents(of: v, to: &jobs[k.key, default: JobStats()])
                }
                for (k, v) in d.logs where !v.isZero { logs[k.key, default: LogStats()].merge(v) }
            }
        }
    }
}

extension Delta {
    /// The cells by bucket, as a ``ChangeFeed`` reports a commit.
    public var byBucket: [Int64: WindowData] {
        var out: [Int64: WindowData] = [:]
        for (k, v) in requests {
            out[k.bucket, default: WindowData()].requests[k.key, default: RequestStats()].merge(v)
        }
        for (k, v) in jobs { out[k.bucket, default: WindowData()].jobs[k.key, default: JobStats()].merge(v) }
        for (k, v) in logs { out[k.bucket, default: WindowData()].logs[k.key, default: LogStats()].merge(v) }
        return out
    }
}

extension WindowData {
    /// The sum of the buckets of `contents` (by bucket) that lie in `range`.
    public static func sum(of contents: [Int64: WindowData], in range: ClosedRange<Int64>) -> WindowData {
        var out = WindowData()
        for (b, d) in contents where range.contains(b) { out.merge(d) }
        return out
    }
}
