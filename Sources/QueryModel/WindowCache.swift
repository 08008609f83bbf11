import Collector
import OpsightMetrics
import Logging
import ServiceLifecycle

/// The hot windows at the current time, kept in memory and brought up to date from the store's change feed.
///
/// At 10 000 series an hour of 10-second buckets is hundreds of hashes and millions of fields: reading and
/// merging them per request takes seconds, against a 50 ms target (SPEC §11). Instead the cache holds one sum
/// per configured window (``WindowSums``) and, before answering, applies the deltas committed since its last
/// look — one small round trip. When the current bucket moves on it reads only the buckets entering and
/// leaving the windows, in the same atomic poll, so the sums stay exactly what a full read would return.
/// Memory is one sum per window, not a copy of the buckets.
///
/// A query waits for a poll that started after it arrived, so it sees everything committed before it —
/// the same guarantee as reading the store directly. Concurrent queries share one poll. As a `Service` the
/// cache also polls on its own (every ``Configuration/refreshInterval`` and just after each bucket boundary),
/// so deltas do not pile up between queries and the bucket moves rarely land on a query.
public actor WindowCache: Service, SingleFlightPolling {
    /// Which windows are kept, over which buckets, and how often the cache polls on its own.
    public struct Configuration: Sendable {
        /// Windows kept, in milliseconds; those outside ``keptMs`` or off the bucket grid are ignored.
        public var windowsMs: [Int64]
        /// Longest pause between two polls when no query asks.
        public var refreshInterval: Duration
        /// Width of the feed's buckets: the hot store's 10 s, or the durable store's minute.
        public var bucketWidthMs: Int64 = TimeBucket.hotWidthMs
        /// How many buckets before the current one the windows end. The durable store's cache ends two minutes
        /// back: ``MetricsReader`` reads a long window's last two minutes from the hot store.
        public var lagBuckets: Int64 = 0
        /// The window lengths this cache keeps (the hot store's: up to an hour, what its buckets outlive).
        public var keptMs: ClosedRange<Int64> = 1...3_600_000
        /// Whether to keep, besides the windows, the hot part of the long windows (``tail()``): the minute under
        /// way and the one before it.
        public var keepsTail = false
        /// Whether to keep the store's running totals too (``totals()``), when the feed can read them with the sums
        /// (``ChangeFeed/sumsAndTotals(over:)``): every `/metrics` scrape and counter query otherwise reads and parses
        /// them from Redis (~27 000 fields at 10 000 series, ~35 ms).
        public var keepsTotals = false
        /// How long the totals are followed after the last ``totals()``. Following them adds every cell of every
        /// change to them (at 400 000 events/s, a few per cent of the collector), so they are followed only while
        /// someone reads them, and read again (in the next poll) when someone does after a pause.
        public var totalsIdle: Duration = .seconds(60)
        /// Whether to note, per bucket, the feed position of the last change to it (``bucketStamp(_:)``): what tells
        /// the range queries' bucket summaries (``BucketSummaries``) which buckets they may answer from memory.
        public var bucketTracking = BucketTracking.off
        /// Signalled when the feed holds changes worth taking before the next refresh (``OwnChanges/wake``): the
        /// cache then polls at once. A ``WakeSignal`` has one waiter: give each signal to one cache only.
        public var wake: WakeSignal?
        /// Most buckets the windows move on in one poll; after a longer pause the cache is rebuilt instead. The
        /// buckets leaving must still be in the store: hot buckets are kept 75 minutes, so 30 of them (5 minutes)
        /// leaving an hour are.
        public var maxStep: Int64 = 30
        /// Creates the configuration.
        public init(
            windowsMs: [Int64] = [60_000, 300_000, 900_000, 3_600_000], refreshInterval: Duration = .seconds(1)
        ) {
            self.windowsMs = windowsMs
            self.refreshInterval = refreshInterval
        }

        /// The cache over the durable store's minutes for the windows longer than an hour (SPEC §11: `/metrics`
        /// and rules over `6h` and `1d` at 10 000 series read ~14 million rows per window otherwise).
        public static func durable(windowsMs: [Int64], refreshInterval: Duration = .seconds(1)) -> Configuration {
            var c = Configuration(windowsMs: windowsMs, refreshInterval: refreshInterval)
            c.bucketWidthMs = TimeBucket.durableWidthMs
            c.lagBuckets = 2
            c.keptMs = 3_600_001...MetricsReader.maxWindowMs
            // A step reads whole minutes of every series (entering and leaving each window): after a pause longer
            // than this the sums are read again, streamed, rather than hold that many minutes at once.
            c.maxStep = 5
            return c
        }
    }

    /// What the cache holds for one window: its sum, the time of the poll it is as of, its newest bucket, and a
    /// version of the sums (the same `version` is the same sums).
    public struct Snapshot: Sendable {
        public var data: WindowData
        public var timeMs: Int64
        public var newest: Int64
        public var version: UInt64
    }

    /// Windows kept.
    public nonisolated let windowsMs: Set<Int64>
    /// Whether ``tail()`` answers.
    public nonisolated let keepsTail: Bool
    private let configuration: Configuration
    private let shapes: [Int64: WindowShape]
    private let feed: any ChangeFeed
    private let now: @Sendable () -> Int64
    private let logger: Logger
    private var sums: WindowSums?
    /// The running totals as of ``cursor`` (``Configuration/keepsTotals``; nil when not kept or the feed cannot).
    private var totalsKept: WindowData?
    /// The feed sequence the totals were read at: changes up to it are in them already.
    private var totalsSequence: UInt64 = 0
    /// Changes of ``totalsKept``: the same version is the same totals.
    private var totalsVersion: UInt64 = 0
    /// When ``totals()`` was last called (the clock's milliseconds).
    private var totalsReadAtMs: Int64?
    private var cursor: FeedCursor?
    /// The time of the last successful poll: what the sums are the windows at.
    private var timeMs: Int64 = 0
    /// Successful polls so far that changed the sums (or may have: any change or move counts).
    private var version: UInt64 = 0
    var polls = SingleFlightPolls()
    /// How many times the sums were rebuilt from bucket contents (the first time included).
    public private(set) var rebuilds = 0
    /// Per bucket, the feed position of the last change to it since the last rebuild (``Configuration/bucketTracking``).
    private var changedAt: [Int64: UInt64] = [:]
    /// The request series each version changed, per window, while someone asks (``changedSeries(_:after:through:)``).
    private var changeLog = SeriesChangeLog()
    /// When ``changedSeries(_:after:through:)`` was last called (the clock's milliseconds); the log is kept for
    /// ``Configuration/totalsIdle`` after it.
    private var changesReadAtMs: Int64?

    /// The key of the tail among the sums (window keys are positive lengths).
    static let tailKey: Int64 = -1
    /// How many buckets back from the newest one ``BucketTracking/recent`` notes: two hours of 10-second buckets,
    /// past the hot store's retention (75 minutes).
    public static let trackedBuckets: Int64 = 720

    /// The buckets whose changes are noted now (see ``BucketStamp/tracked``); nil when none are.
    private func trackedBuckets() -> ClosedRange<Int64>? {
        guard let sums else { return nil }
        switch configuration.bucketTracking {
        case .off: return nil
        case .windows: return sums.oldest...sums.newest
        case .recent: return (sums.newest - Self.trackedBuckets + 1)...Int64.max
        }
    }

    /// Creates the cache over `feed`; `now` is the clock (unix milliseconds) that decides the current bucket.
    public init(
        configuration: Configuration = .init(), feed: any ChangeFeed, logger: Logger,
        now: @escaping @Sendable () -> Int64
    ) {
        let width = configuration.bucketWidthMs
        let kept = configuration.windowsMs.filter {
            configuration.keptMs.contains($0) && $0 % width == 0 && $0 / width > configuration.lagBuckets
        }
        var shapes = Dictionary(
            uniqueKeysWithValues: Set(kept).map { ($0, WindowShape.last($0 / width - configuration.lagBuckets)) })
        if configuration.keepsTail {
            shapes[Self.tailKey] = .sinceGroup(size: TimeBucket.durableWidthMs / width, groups: 2)
        }
        self.windowsMs = Set(kept)
        self.keepsTail = configuration.keepsTail
        self.shapes = shapes
        self.configuration = configuration
        self.feed = feed
        self.logger = logger
        self.now = now
    }

    /// Window `windowMs` at the current time and the time it ends at, including every commit made before the
    /// call; nil when the window is not kept.
    public func window(windowMs: Int64) async throws -> (data: WindowData, timeMs: Int64)? {
        try await snapshot(windowMs).map { ($0.data, $0.timeMs) }
    }

    /// Window `windowMs` as ``window(windowMs:)`` reads it, with the newest bucket it covers.
    public func snapshot(_ windowMs: Int64) async throws -> Snapshot? {
        guard windowMs > 0, windowsMs.contains(windowMs) else { return nil }
        return try await read(windowMs)
    }

    /// The hot part of every long window at the current time: the buckets of the minute under way and of the one
    /// before it (``MetricsReader``); nil when not kept.
    public func tail() async throws -> Snapshot? {
        guard keepsTail else { return nil }
        return try await read(Self.tailKey)
    }

    private func read(_ key: Int64) async throws -> Snapshot? {
        try await refresh()
        guard let sums else { return nil }
        return Snapshot(data: sums.sums[key] ?? WindowData(), timeMs: timeMs, newest: sums.newest, version: version)
    }

    /// The store's running totals (the `_total` counters, as ``MetricsStore/totals()`` reads them) including every
    /// commit made before the call, with a version that changes when they do; nil when they are not kept.
    public func totals() async throws -> (data: WindowData, version: UInt64)? {
        guard configuration.keepsTotals else { return nil }
        totalsReadAtMs = now()
        try await refresh()
        return totalsKept.map { ($0, totalsVersion) }
    }

    /// The request series of window `windowMs` (``tailKey``: the tail) that changed in the versions after `from`
    /// through `to` (``Snapshot/version``s read before); nil when the cache cannot tell (the versions are not all
    /// noted). The changes are noted from the first call on, while calls keep coming (a pause longer than
    /// ``Configuration/totalsIdle`` stops it): noting every cell's series costs the polls a little, and only a
    /// renderer of the windows (``ExpositionCache``) needs it.
    func changedSeries(_ windowMs: Int64, after from: UInt64, through to: UInt64) -> ChangedSeries? {
        changesReadAtMs = now()
        return changeLog.changed(windowMs, after: from, through: to)
    }

    /// Polls the feed, or waits for a poll that started after this call.
    public func refresh() async throws { try await pollOrJoin() }

    /// Which changes the store holds for some buckets, as of a poll that started after this call: the feed position
    /// of that poll and, per bucket of `buckets`, the position of the last change to it (none: not changed since the
    /// cache was last rebuilt), with the number of that rebuild. Something read from the store after this call holds
    /// every change up to `sequence`; it still holds what a bucket holds for as long as a later stamp of the same
    /// rebuild shows no change to that bucket after `sequence`. Nil when the cache does not track changes, or has not
    /// read its windows yet (or is reading them again).
    public func bucketStamp(_ buckets: ClosedRange<Int64>) async throws -> BucketStamp? {
        // Not before the cache has read its windows once (nor while it reads them again): a first read of a day of
        // minutes takes seconds, and a range query would wait for it rather than read its own buckets.
        guard configuration.bucketTracking != .off, sums != nil else { return nil }
        try await refresh()
        guard let cursor, let tracked = trackedBuckets() else { return nil }
        var changed: [Int64: UInt64] = [:]
        if buckets.count <= changedAt.count {
            for b in buckets { if let at = changedAt[b] { changed[b] = at } }
        } else {
            for (b, at) in changedAt where buckets.contains(b) { changed[b] = at }
        }
        return BucketStamp(rebuild: rebuilds, sequence: cursor.sequence, changed: changed, tracked: tracked)
    }

    /// Which buckets' changes the cache notes (``Configuration/bucketTracking``).
    public enum BucketTracking: Sendable {
        /// None.
        case off
        /// Those the windows hold: a feed that returns only their changes (the durable store's, asked for the changes
        /// within the windows) tells nothing of the others.
        case windows
        /// Every bucket from ``WindowCache/trackedBuckets`` back on: a feed that returns every change whatever its
        /// bucket (the hot store's).
        case recent
    }

    /// See ``bucketStamp(_:)``.
    public struct BucketStamp: Sendable {
        /// The number of the cache's rebuild (a gap in the feed, a store that lost its data, the first poll).
        public var rebuild: Int
        /// The feed position of the poll.
        public var sequence: UInt64
        /// The position of the last change to each bucket asked for that changed since the rebuild.
        public var changed: [Int64: UInt64]
        /// The buckets whose changes are noted now. A bucket's changes are noted from the time it enters these on,
        /// until it leaves them (only older buckets leave), so a bucket within them both when it was read and now has
        /// had every change since noted.
        public var tracked: ClosedRange<Int64>
    }

    public func run() async throws {
        // Nothing kept (every long window is read from the store): no polling, but no early end either, which
        // would end the service group.
        guard !shapes.isEmpty else { return try await gracefulShutdown() }
        let width = configuration.bucketWidthMs
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await refresh() } catch {
                logger.warning("window cache poll failed", metadata: ["error": "\(error)"])
            }
            // Wake just after the next bucket boundary, so moving the windows on rarely falls on a query.
            let t = now()
            let untilBoundary = TimeBucket.index(ofMs: t, widthMs: width) * width - t + 5
            let pause = min(configuration.refreshInterval, .milliseconds(max(untilBoundary, 5)))
            if let wake = configuration.wake {
                try? await cancelWhenGracefulShutdown { await wake.wait(orSleep: pause) }
            } else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }

    func pollOnce() async throws {
        let t = now()
        let idleMs = configuration.totalsIdle.components.seconds * 1000
        let followsTotals = configuration.keepsTotals && totalsReadAtMs.map { t - $0 <= idleMs } ?? false
        if !followsTotals { totalsKept = nil }
        if changesReadAtMs.map({ t - $0 <= idleMs }) ?? false {
            if changeLog.since == nil { changeLog.start(after: version) }
        } else {
            changeLog.stop()
        }
        var noted: [Int64: ChangedSeries] = [:]
        let bucket = TimeBucket.index(ofMs: t, widthMs: configuration.bucketWidthMs) - configuration.lagBuckets
        // After a long pause the buckets leaving may have expired from the store: rebuild instead.
        if let current = sums, let cursor, bucket >= current.newest, bucket - current.newest <= configuration.maxStep {
            let moving = bucket > current.newest
            let p = try await feed.poll(
                after: cursor, buckets: moving ? current.bucketsToAdvance(to: bucket) : [],
                changesWithin: current.oldest...current.newest)
            if !p.gap {
                // No suspension from here on: the sums change in place, without copying them.
                let notes = changeLog.since != nil
                for change in p.changes {
                    if notes { sums!.noteChanges(of: change, into: &noted) }
                    sums!.apply(change)
                }
                if notes && moving { sums!.noteAdvance(to: bucket, contents: p.buckets, into: &noted) }
                if let tracked = trackedBuckets() {
                    // The poll's position rather than each change's own: later or equal, so a change after what a
                    // summary holds is never taken for one before it (a feed that leaves changes out may not number
                    // them one by one).
                    for change in p.changes {
                        for b in change.buckets where tracked.contains(b) { changedAt[b] = p.cursor.sequence }
                    }
                }
                // Every change after the totals' read counts towards them, whatever its bucket (a late event an hour
                // old too). The i-th change of a poll after `cursor` is the feed's change `cursor.sequence + 1 + i`.
                if totalsKept != nil {
                    var added = false
                    for (i, change) in p.changes.enumerated() where cursor.sequence + 1 + UInt64(i) > totalsSequence {
                        totalsKept!.addCounts(of: change)
                        added = true
                    }
                    if added { totalsVersion += 1 }
                }
                if !moving || sums!.advance(to: bucket, contents: p.buckets) {
                    if moving, let tracked = trackedBuckets() {
                        changedAt = changedAt.filter { tracked.contains($0.key) }
                    }
                    self.cursor = p.cursor
                    timeMs = t
                    if moving || !p.changes.isEmpty {
                        version += 1
                        changeLog.append(version: version, noted)
                    }
                    if followsTotals && totalsKept == nil { await readTotals() }
                    return
                }
                logger.error("window cache out of step with the store; rebuilding it")
            }
        }
        sums = nil
        totalsKept = nil
        changedAt = [:]
        let keys = Array(shapes.keys)
        let ranges = keys.map { shapes[$0]!.range(bucket) }
        let start: (cursor: FeedCursor, sums: [WindowData], totals: WindowData?)
        if followsTotals {
            start = try await feed.sumsAndTotals(over: ranges)
        } else {
            let s = try await feed.sums(over: ranges)
            start = (s.cursor, s.sums, nil)
        }
        sums = WindowSums(
            shapes: shapes, newest: bucket, sums: Dictionary(uniqueKeysWithValues: zip(keys, start.sums)))
        totalsKept = start.totals
        totalsSequence = start.cursor.sequence
        totalsVersion += 1
        cursor = start.cursor
        timeMs = t
        version += 1
        rebuilds += 1
        if changeLog.since != nil { changeLog.start(after: version) }
    }

    /// Reads the totals and the feed position they are at, after a pause in reading them; kept when they are at or
    /// after the cache's cursor in the same epoch (changes between the two are then skipped by their sequence). A
    /// failed read leaves them unkept: readers read the store.
    private func readTotals() async {
        guard let cursor else { return }
        do {
            let read = try await feed.sumsAndTotals(over: [])
            guard let totals = read.totals, read.cursor.epoch == cursor.epoch, read.cursor.sequence >= cursor.sequence
            else { return }
            totalsKept = totals
            totalsSequence = read.cursor.sequence
            totalsVersion += 1
        } catch {
            logger.warning(
                "reading the running totals failed; they are read per request", metadata: ["error": "\(error)"])
        }
    }
}
