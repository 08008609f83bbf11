import Logging
import OpsightMetrics
import ServiceLifecycle

/// Moves raw events from the buffer to their store in batches, and drops days past retention.
public struct RawEventWriter: Service {
    /// Pacing and retention.
    public struct Configuration: Sendable {
        /// Rows per insert.
        public var batchSize = 5_000
        /// Pause when the buffer is empty.
        public var idle: Duration = .milliseconds(250)
        /// How long raw events are kept, ms.
        public var retentionMs: Int64 = 7 * 86_400_000
        /// How often old days are dropped, ms.
        public var retentionEveryMs: Int64 = 3_600_000
        /// Longest time spent writing the buffer at shutdown: within `opsight serve`'s shutdown grace (1.5 s), so
        /// the flush behind it still gets its last try.
        public var shutdownWrite: Duration = .seconds(1)
        /// Most rows written per second (nil: as fast as the store takes them).
        ///
        /// PostgreSQL shares the machine with the collector: writing every event of a 400 000 events/s ingest
        /// as a raw row took about half a core from it. Past this rate the buffer fills and sampling keeps the
        /// errors and a share of the rest (``RawEventBuffer``). 2 000 rather than 20 000: a raw row cost PostgreSQL
        /// ~9 µs (two B-tree indexes over times spread across the last hour are ~70 % of it), so at full HTTP ingest
        /// the drill-down took ~11 % of the two-core machine, growing as its table outgrew the buffer cache, and
        /// 20 000 rows/s kept is ~480 GiB a day (docs/benchmarks.md, docs/scaling.md).
        public var maxRowsPerSecond: Int? = 2_000
        /// Longest stretch the writer gives way while the metrics trail what was acknowledged (`behind`), and at most
        /// one such stretch per twice its length; then it writes at its rate again, whatever the backlog (a hot store
        /// that is away, or ingest above what the flush keeps up with, must not stop the drill-down). A shipment of a
        /// million lines of the last hour takes 5–7.5 s to be visible on the two-core machine: with 5 s the stretch
        /// ran out before it did and the inserts took their share of its last second.
        public var longestGiveWay: Duration = .seconds(10)
        /// How often `behind` is asked while giving way.
        public var giveWayCheck: Duration = .milliseconds(20)
        /// How long after the metrics last trailed the writer still gives way: during a burst the backlog clears for
        /// a moment now and then (a chunk read back from the log, the next not yet due), and a batch of inserts in
        /// each such moment was about a third of what a shipment of the last hour had PostgreSQL insert under way.
        public var giveWayHold: Duration = .seconds(1)
        /// Creates the defaults.
        public init() {}
    }

    private let configuration: Configuration
    private let buffer: RawEventBuffer
    private let store: any RawEventStore
    private let now: @Sendable () -> Int64
    private let logger: Logger
    private let quarantine: Quarantine?
    private let behind: (@Sendable () -> Bool)?

    /// Creates the writer; rows the store refuses for their data go to `quarantine` (only logged when nil). While
    /// `behind` says the metrics trail what was acknowledged (a shipment's burst), the writer gives way, for at most
    /// ``Configuration/longestGiveWay`` at a stretch: PostgreSQL inserting raw rows took ~0.2 of the two cores the
    /// burst's ingest and flush needed (shipping a file of the last hour was visible ~8 % later with the drill-down
    /// than without, docs/benchmarks.md). The buffer holds the rows meanwhile; past its bound it samples, as it does
    /// whenever the writer lags.
    public init(
        configuration: Configuration = .init(), buffer: RawEventBuffer, store: any RawEventStore,
        now: @escaping @Sendable () -> Int64, quarantine: Quarantine? = nil,
        behind: (@Sendable () -> Bool)? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.buffer = buffer
        self.store = store
        self.now = now
        self.quarantine = quarantine
        self.behind = behind
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var nextRetention: Int64 = 0
            // When the current (or last) stretch of giving way began: one stretch at most per two of its lengths, so
            // the writer writes at least half the time however long the metrics trail.
            var stretch: ContinuousClock.Instant?
            // When the metrics last trailed (within ``Configuration/giveWayHold`` of it is still the same burst).
            var lastBehind: ContinuousClock.Instant?
            while !Task.isCancelled {
                let instant = ContinuousClock.now
                if let behind, behind() { lastBehind = instant }
                if let last = lastBehind, instant - last < configuration.giveWayHold,
                    Self.givesWay(at: instant, stretch: &stretch, longest: configuration.longestGiveWay)
                {
                    try? await Task.sleep(for: configuration.giveWayCheck)
                    continue
                }
                let started = ContinuousClock.now
                let wrote = await writeOnce()
                if now() >= nextRetention {
                    nextRetention = now() + configuration.retentionEveryMs
                    do { _ = try await store.dropOlder(than: now() - configuration.retentionMs) } catch {
                        logger.warning("raw event retention failed", metadata: ["error": "\(error)"])
                    }
                }
                if wrote == 0 {
                    try? await Task.sleep(for: configuration.idle)
                } else if let pause = Self.pause(wrote: wrote, took: ContinuousClock.now - started, maxPerSecond: configuration.maxRowsPerSecond) {
                    try? await Task.sleep(for: pause)
                }
            }
        }
        // Graceful shutdown: what is buffered is written while the store answers, for at most `shutdownWrite`
        // (the drill-down is best effort; the metrics are in the write-ahead log). The deadline also ends a write
        // under way: one waiting on a PostgreSQL that is away (its pool holds the lease while it reconnects, for up
        // to its 15 s circuit breaker) held the whole shutdown past the 5 s an orchestrator allows.
        let buffer = buffer
        _ = try? await Deadline.run(
            configuration.shutdownWrite, expired: { CancellationError() }
        ) { [self] in
            while buffer.count > 0, !Task.isCancelled, await writeOnce() > 0 {}
        }
    }

    /// Whether a writer whose metrics trail gives way at `now`, given when its current or last stretch of giving way
    /// began (`stretch`, updated when a new one begins): within `longest` of that start, and a new stretch only
    /// `2 × longest` after the last one began.
    static func givesWay(
        at now: ContinuousClock.Instant, stretch: inout ContinuousClock.Instant?, longest: Duration
    ) -> Bool {
        if stretch.map({ now - $0 >= longest * 2 }) ?? true { stretch = now }
        return now - stretch! < longest
    }

    /// How long to wait after writing `wrote` rows in `took` so the rate stays at most `maxPerSecond`.
    static func pause(wrote: Int, took: Duration, maxPerSecond: Int?) -> Duration? {
        guard let maxPerSecond, maxPerSecond > 0, wrote > 0 else { return nil }
        let budget = Duration.nanoseconds(Int64(wrote) * 1_000_000_000 / Int64(maxPerSecond))
        return budget > took ? budget - took : nil
    }

    /// Writes one batch; returns how many rows were written.
    @discardableResult
    public func writeOnce() async -> Int {
        let rows = buffer.take(max: configuration.batchSize)
        guard !rows.isEmpty else { return 0 }
        do {
            try await store.insert(rows)
            return rows.count
        } catch where error.isDataRefusal {
            return await insertIsolating(rows, refusal: error)
        } catch {
            buffer.putBack(rows)
            logger.warning("raw event store unavailable; kept in memory", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Inserts `rows`, which the store refused as a batch for their data, by halves until the refused rows are
    /// alone, and quarantines those: one bad line must not keep the rest of its batch (or the buffer behind it)
    /// out. Rows are independent and best effort, so the halves need no common transaction. Returns the rows
    /// written or quarantined; on an outage midway the rest goes back to the buffer.
    private func insertIsolating(_ rows: [RawEvent], refusal: any Error) async -> Int {
        if rows.count == 1 {
            (quarantine ?? fallbackQuarantine).rawEventsRefused(rows, store: "postgres", error: refusal)
            return 1
        }
        var done = 0
        let middle = rows.count / 2
        for half in [Array(rows[..<middle]), Array(rows[middle...])] {
            do {
                try await store.insert(half)
                done += half.count
            } catch where error.isDataRefusal {
                done += await insertIsolating(half, refusal: error)
            } catch {
                buffer.putBack(half)
                logger.warning("raw event store unavailable; kept in memory", metadata: ["error": "\(error)"])
            }
        }
        return done
    }

    /// Logs refusals when no quarantine was given (tests and tools).
    private var fallbackQuarantine: Quarantine {
        Quarantine(path: nil, status: CollectorStatus(hotPosition: 0, durablePosition: 0), logger: logger)
    }
}
