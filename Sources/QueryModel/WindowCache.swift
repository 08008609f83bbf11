import Collector
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
    /// Which windows are kept and how often the cache polls on its own.
    public struct Configuration: Sendable {
        /// Windows kept, in milliseconds; those above an hour or off the 10 s grid are ignored.
        public var windowsMs: [Int64]
        /// Longest pause between two polls when no query asks.
        public var refreshInterval: Duration
        /// Creates the configuration.
        public init(
            windowsMs: [Int64] = [60_000, 300_000, 900_000, 3_600_000], refreshInterval: Duration = .seconds(1)
        ) {
            self.windowsMs = windowsMs
            self.refreshInterval = refreshInterval
        }
    }

    /// Windows kept.
    public nonisolated let windowsMs: Set<Int64>
    private let configuration: Configuration
    private let feed: any ChangeFeed
    private let now: @Sendable () -> Int64
    private let logger: Logger
    private var sums: WindowSums?
    private var cursor: FeedCursor?
    /// The time of the last successful poll: what the sums are the windows at.
    private var timeMs: Int64 = 0
    var polls = SingleFlightPolls()
    /// How many times the sums were rebuilt from bucket contents (the first time included).
    public private(set) var rebuilds = 0

    /// Creates the cache over `feed`; `now` is the clock (unix milliseconds) that decides the current bucket.
    public init(
        configuration: Configuration = .init(), feed: any ChangeFeed, logger: Logger,
        now: @escaping @Sendable () -> Int64
    ) {
        let hot = TimeBucket.hotWidthMs
        let kept = configuration.windowsMs.filter { $0 > 0 && $0 % hot == 0 && $0 <= 3_600_000 }
        self.windowsMs = Set(kept)
        self.configuration = configuration
        self.feed = feed
        self.logger = logger
        self.now = now
    }

    /// Window `windowMs` at the current time and the time it ends at, including every commit made before the
    /// call; nil when the window is not kept.
    public func window(windowMs: Int64) async throws -> (data: WindowData, timeMs: Int64)? {
        guard windowsMs.contains(windowMs) else { return nil }
        try await refresh()
        guard let sums else { return nil }
        return (sums.sums[windowMs] ?? WindowData(), timeMs)
    }

    /// Polls the feed, or waits for a poll that started after this call.
    public func refresh() async throws { try await pollOrJoin() }

    public func run() async throws {
        let width = TimeBucket.hotWidthMs
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await refresh() } catch {
                logger.warning("window cache poll failed", metadata: ["error": "\(error)"])
            }
            // Wake just after the next bucket boundary, so moving the windows on rarely falls on a query.
            let t = now()
            let untilBoundary = TimeBucket.index(ofMs: t, widthMs: width) * width - t + 5
            let pause = min(configuration.refreshInterval, .milliseconds(max(untilBoundary, 5)))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }

    /// Most buckets the windows move on in one poll (5 minutes); hot buckets are kept 75 minutes, so the
    /// ones leaving an hour are still there.
    static let maxStep: Int64 = 30

    func pollOnce() async throws {
        let t = now()
        let bucket = TimeBucket.index(ofMs: t, widthMs: TimeBucket.hotWidthMs)
        // After a long pause the buckets leaving may have expired from the store: rebuild instead.
        if let current = sums, let cursor, bucket >= current.newest, bucket - current.newest <= Self.maxStep {
            let moving = bucket > current.newest
            let p = try await feed.poll(after: cursor, buckets: moving ? current.bucketsToAdvance(to: bucket) : [])
            if !p.gap {
                // No suspension from here on: the sums change in place, without copying them.
                for change in p.changes { sums!.apply(change) }
                if !moving || sums!.advance(to: bucket, contents: p.buckets) {
                    self.cursor = p.cursor
                    timeMs = t
                    return
                }
                logger.error("window cache out of step with the store; rebuilding it")
            }
        }
        sums = nil
        let windows = Array(windowsMs)
        let p = try await feed.poll(after: nil, buckets: WindowSums.buckets(windowsMs: windows, newest: bucket))
        sums = WindowSums(windowsMs: windows, newest: bucket, contents: p.buckets)
        cursor = p.cursor
        timeMs = t
        rebuilds += 1
    }
}
