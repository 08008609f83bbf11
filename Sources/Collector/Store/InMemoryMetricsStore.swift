import Synchronization

/// A `MetricsStore` in process memory, for unit tests and quick trials; never the real path.
///
/// It pairs job facts into queue wait as the real stores do, and plays either part of a hot-store rebuild: the hot
/// store that can lose everything (``loseEverything()``) or the durable store that records the epoch.
public final class InMemoryMetricsStore: MetricsStore, ChangeFeed, FunnelStepStore, FunnelStepFeed, HotEpochStore,
    HotEpochSource
{
    private struct State {
        var cells = Delta()
        var facts: [JobIdentity: [JobFact]] = [:]
        var positions: [String: UInt64] = [:]
        var failing = false
        /// The change feed: every commit's cells by bucket; `trimmed` of the oldest are gone.
        var feed: [FeedChange] = []
        var trimmed = 0
        /// The funnel step log: every commit's records; `funnelTrimmed` of the oldest are gone.
        var funnelLog: [[FunnelStepRecord]] = []
        var funnelTrimmed = 0
        /// How many times the store lost everything or was cleared: a cursor from before is no position here.
        var resets = 0
        /// As a hot store: its epoch and the epoch a rebuild under way builds.
        var epoch: String?
        var rebuilding: String?
        /// As a durable store: the hot epoch last started.
        var hotRecord: HotEpochRecord?
        /// Sizes of the deltas committed, in cells, oldest first (tests of chunked catch-up read them).
        var commitSizes: [Int] = []
        /// Commits still taken before the store starts failing (nil: no limit).
        var commitsLeft: Int?
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
    public func setFailing(_ failing: Bool) {
        state.withLock { s in
            s.failing = failing
            s.commitsLeft = nil
        }
    }

    /// Takes `commits` more commits, then fails every call, as a store that goes away in the middle of a catch-up.
    public func failAfter(commits: Int) {
        state.withLock { s in
            s.failing = false
            s.commitsLeft = commits
        }
    }

    /// Forgets everything, epoch and positions included, as a Redis without persistence that restarted.
    public func loseEverything() {
        state.withLock { s in
            s.trimmed += s.feed.count
            s.funnelTrimmed += s.funnelLog.count
            let keep = (s.failing, s.trimmed, s.funnelTrimmed, s.resets + 1, s.hotRecord)
            s = State()
            (s.failing, s.trimmed, s.funnelTrimmed, s.resets, s.hotRecord) = keep
        }
    }

    /// The cell count of every delta committed so far, oldest first.
    public var commitSizes: [Int] { state.withLock { $0.commitSizes } }

    private static func failure() -> CollectorError { CollectorError(.store, "in-memory store is failing") }

    public func committedPosition(collector: String) async throws -> UInt64 {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            return s.positions[collector] ?? 0
        }
    }

    public func commit(_ delta: Delta, position: UInt64, collector: String) async throws {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            apply(delta, position: position, collector: collector, to: &s)
        }
    }

    /// Adds `delta` with its facts paired into queue wait, and records the position.
    private func apply(_ delta: Delta, position: UInt64, collector: String, to s: inout State) {
        if let left = s.commitsLeft {
            s.commitsLeft = left - 1
            if left <= 1 { s.failing = true }
        }
        var delta = delta
        if !delta.jobFacts.isEmpty {
            let facts = s.facts
            let changes = QueueWaitPairing.changes(of: delta.jobFacts) { facts[$0] ?? [] }
            delta.addWaits(changes, widthMs: bucketWidthMs)
            for f in changes.newFacts { s.facts[f.identity, default: []].append(f) }
        }
        s.cells.merge(delta)
        s.positions[collector] = position
        s.feed.append(FeedChange(deltas: [delta]))
        if !delta.funnelSteps.isEmpty { s.funnelLog.append(Array(delta.funnelSteps)) }
        s.commitSizes.append(delta.cellCount)
    }

    public func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
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
            if s.failing { throw Self.failure() }
            let end = UInt64(s.trimmed + s.feed.count)
            var changes: [FeedChange] = []
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

    public func pollFunnelSteps(after cursor: FeedCursor?) async throws -> FunnelStepPoll {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            let end = UInt64(s.funnelTrimmed + s.funnelLog.count)
            var records = Array(s.funnelLog.joined())
            var gap = false
            if let cursor {
                records = []
                gap =
                    cursor.epoch != s.epoch || cursor.id != String(s.resets) || cursor.sequence > end
                    || Int(cursor.sequence) < s.funnelTrimmed
                if !gap { records = Array(s.funnelLog[(Int(cursor.sequence) - s.funnelTrimmed)...].joined()) }
            }
            return FunnelStepPoll(
                cursor: FeedCursor(sequence: end, id: String(s.resets), epoch: s.epoch), records: records, gap: gap)
        }
    }

    /// Forgets the oldest entries of the funnel step log but the last `keeping`, as a store that trims it does.
    public func trimFunnelLog(keeping: Int) {
        state.withLock { s in
            let drop = max(0, s.funnelLog.count - keeping)
            s.funnelLog.removeFirst(drop)
            s.funnelTrimmed += drop
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
            if s.failing { throw Self.failure() }
            return s.cells.funnelSteps.filter {
                $0.funnel == funnel && $0.timestampMs > afterMs && $0.timestampMs <= throughMs
            }
        }
    }

    public func ping() async throws {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
        }
    }

    // MARK: - As a hot store that can lose everything

    public func commit(_ delta: Delta, position: UInt64, collector: String, expecting: HotExpectation) async throws
        -> GuardedCommit
    {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            let held = s.positions[collector] ?? 0
            guard let epoch = expecting.epoch, s.epoch == epoch else {
                return .lost("epoch \(s.epoch ?? "none"), expected \(expecting.epoch ?? "none")")
            }
            guard held >= expecting.position else { return .lost("position \(held) < \(expecting.position)") }
            if held >= position { return .alreadyHeld }
            apply(delta, position: position, collector: collector, to: &s)
            return .committed
        }
    }

    public func epochState(collector: String) async throws -> HotEpochState {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            return HotEpochState(epoch: s.epoch, rebuilding: s.rebuilding, position: s.positions[collector] ?? 0)
        }
    }

    public func lockRebuild(epoch: String, holder: String, ttlMs: Int64) async throws -> Bool {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            guard s.rebuilding == nil else { return false }
            s.rebuilding = epoch
            s.epoch = nil
            return true
        }
    }

    public func clearForRebuild(epoch: String) async throws {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            s.trimmed += s.feed.count
            s.feed = []
            s.funnelTrimmed += s.funnelLog.count
            s.funnelLog = []
            s.resets += 1
            s.cells = Delta()
            s.facts = [:]
            s.positions = [:]
        }
    }

    public func loadForRebuild(_ delta: Delta, epoch: String, ttlMs: Int64) async throws {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            guard s.rebuilding == epoch else { throw CollectorError(.store, "the rebuild lock is not \(epoch)'s") }
            s.cells.merge(delta)
            for f in delta.jobFacts where !(s.facts[f.identity]?.contains(f) ?? false) {
                s.facts[f.identity, default: []].append(f)
            }
        }
    }

    public func finishRebuild(epoch: String, positions: [String: UInt64]) async throws -> Bool {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            guard s.rebuilding == epoch else { return false }
            s.positions = positions
            s.epoch = epoch
            s.rebuilding = nil
            return true
        }
    }

    public func releaseRebuild(epoch: String) async throws {
        state.withLock { s in if s.rebuilding == epoch { s.rebuilding = nil } }
    }

    // MARK: - As the durable store that records the hot epoch

    public func commit(_ delta: Delta, position: UInt64, collector: String, hotEpoch: String?) async throws {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            guard s.hotRecord?.epoch == hotEpoch else { throw HotEpochFenced(current: s.hotRecord?.epoch) }
            apply(delta, position: position, collector: collector, to: &s)
        }
    }

    public func hotEpoch() async throws -> HotEpochRecord? {
        try state.withLock { s in
            if s.failing { throw Self.failure() }
            return s.hotRecord
        }
    }

    public func startHotEpoch(
        _ epoch: String, minutes: ClosedRange<Int64>, funnelStepsAfterMs: Int64, jobFactsAfterMs: Int64,
        sink: @Sendable (Delta) async throws -> Void
    ) async throws -> [String: UInt64] {
        // One instant: the record and the copy are made under the lock, so no commit falls between them, and every
        // commit after it is fenced.
        let (snapshot, positions) = try state.withLock { s in
            if s.failing { throw Self.failure() }
            s.hotRecord = HotEpochRecord(epoch: epoch, positions: s.positions)
            var part = Delta()
            part.requests = s.cells.requests.filter { minutes.contains($0.key.bucket) }
            part.jobs = s.cells.jobs.filter { minutes.contains($0.key.bucket) }
            part.logs = s.cells.logs.filter { minutes.contains($0.key.bucket) }
            part.funnelSteps = s.cells.funnelSteps.filter { $0.timestampMs > funnelStepsAfterMs }
            part.jobFacts = Set(s.facts.values.joined().filter { $0.timestampMs > jobFactsAfterMs })
            return (part, s.positions)
        }
        try await sink(snapshot)
        return positions
    }
}
