import Synchronization

/// A `MetricsStore` in process memory, for unit tests and quick trials; never the real path.
public final class InMemoryMetricsStore: MetricsStore, ChangeFeed, FunnelStepStore {
    private struct State {
        var cells = Delta()
        var positions: [String: UInt64] = [:]
        var failing = false
        /// The change feed: every commit's cells by bucket; `trimmed` of the oldest are gone.
        var feed: [[Int64: WindowData]] = []
        var trimmed = 0
    }

    public let bucketWidthMs: Int64
    public let retentionMs: Int64?
    private let state = Mutex(State())

    /// Creates an empty store with buckets of `bucketWidthMs`.
    public init(bucketWidthMs: Int64, retentionMs: Int64? = nil) {
        self.bucketWidthMs = bucketWidthMs
        self.retentionMs = retentionMs
    }

    /// Makes every call fail (or succeed again), to test store outages.
    public func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    public func committedPosition(collector: String) async throws -> UInt64 {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
            return s.positions[collector] ?? 0
        }
    }

    public func commit(_ delta: Delta, position: UInt64, collector: String) async throws {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
            s.cells.merge(delta)
            s.positions[collector] = position
            s.feed.append(delta.byBucket)
        }
    }

    public func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
            var out = WindowData()
            var slice = Delta()
            slice.requests = s.cells.requests.filter {
                buckets.contains($0.key.bucket) && (service == nil || $0.key.key.service == service)
            }
            slice.jobs = s.cells.jobs.filter {
                buckets.contains($0.key.bucket) && (service == nil || $0.key.key.service == service)
            }
            slice.logs = s.cells.logs.filter {
                buckets.contains($0.key.bucket) && (service == nil || $0.key.key == service)
            }
            out.merge(slice)
            return out
        }
    }

    public func poll(after cursor: FeedCursor?, buckets: [Int64]) async throws -> FeedPoll {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
            let end = UInt64(s.trimmed + s.feed.count)
            var changes: [[Int64: WindowData]] = []
            var gap = false
            if let cursor {
                gap = cursor.sequence > end || Int(cursor.sequence) < s.trimmed
                if !gap { changes = Array(s.feed[(Int(cursor.sequence) - s.trimmed)...]) }
            }
            var contents: [Int64: WindowData] = [:]
            let wanted = Set(buckets)
            var slice = Delta()
            slice.requests = s.cells.requests.filter { wanted.contains($0.key.bucket) }
            slice.jobs = s.cells.jobs.filter { wanted.contains($0.key.bucket) }
            slice.logs = s.cells.logs.filter { wanted.contains($0.key.bucket) }
            for (b, d) in slice.byBucket { contents[b] = d }
            return FeedPoll(
                cursor: FeedCursor(sequence: end, id: String(end)), changes: changes, gap: gap, buckets: contents)
        }
    }

    /// Forgets the oldest changes of the feed but the last `keeping`, as a store that trims its feed does.
    public func trimFeed(keeping: Int) {
        state.withLock { s in
            let drop = max(0, s.feed.count - keeping)
            s.feed.removeFirst(drop)
            s.trimmed += drop
        }
    }

    /// Removes the buckets before `bucket`, as expiry does.
    public func expire(before bucket: Int64) {
        state.withLock { s in
            s.cells.requests = s.cells.requests.filter { $0.key.bucket >= bucket }
            s.cells.jobs = s.cells.jobs.filter { $0.key.bucket >= bucket }
            s.cells.logs = s.cells.logs.filter { $0.key.bucket >= bucket }
        }
    }

    public func services() async throws -> [String] {
        state.withLock { $0.cells.services.sorted() }
    }

    public func funnelSteps(funnel: String, afterMs: Int64, throughMs: Int64) async throws -> [FunnelStepRecord] {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
            return s.cells.funnelSteps.filter {
                $0.funnel == funnel && $0.timestampMs > afterMs && $0.timestampMs <= throughMs
            }
        }
    }

    public func ping() async throws {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
        }
    }
}
