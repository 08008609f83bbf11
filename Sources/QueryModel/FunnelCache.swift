import Collector
import Logging
import ServiceLifecycle

/// The step records of every configured funnel over the longest window, kept in memory and brought up to date from
/// the hot store's funnel step log, so that a read evaluates them instead of reading a day of records.
///
/// Without it every `/metrics` scrape, alert rule and funnel API call read all the records of its longest window
/// from Redis and PostgreSQL: a day of them per funnel per scrape (SPEC §11 wants 50 ms). The cache reads them once
/// (``FunnelReader``'s own read: PostgreSQL for what the hot store no longer holds, Redis for the rest), then applies
/// the log's entries after its cursor (``FunnelStepFeed``) — one small round trip per poll. Every commit logs all
/// its records in the same transaction as the records, whatever their time and whichever collector wrote them, so
/// a late record (older than anything held) is simply added: the records held are at each cursor exactly the
/// records the stores hold with times after ``coveredAfterMs``.
///
/// - A gap in the log (trimmed past the cursor; a Redis that lost its data, recognised by its vanished count, or
///   rebuilt with another epoch) throws the records away and reads them all again.
/// - Records older than the horizon (plus a slack) are trimmed; a read whose window reaches further back than what
///   is held, or a funnel the cache does not know, is not served (nil) and the reader reads the stores.
/// - Every ``Configuration/resyncInterval`` everything is read again: the backstop for records that reached the
///   durable store without passing the hot store's log (a delta only the hot store refused, a retention cut).
///
/// A read waits for a poll that started after it arrived, so it sees every record committed before it — as reading
/// the stores would. Concurrent reads share one poll. As a `Service` the cache also polls on its own every
/// ``Configuration/refreshInterval``, so entries do not pile up between scrapes and the first read finds it loaded.
public actor FunnelCache: Service, SingleFlightPolling {
    /// What is kept and how often the cache polls.
    public struct Configuration: Sendable {
        /// The longest window served from memory, ms (the longest configured window).
        public var horizonMs: Int64
        /// How much further back than the horizon records are kept: reads a little in the past are served too, and
        /// trimming runs once per `slackMs / 2`, not at every poll.
        public var slackMs: Int64
        /// Longest pause between two polls when no read asks.
        public var refreshInterval: Duration
        /// How often every record is read again from the stores (nil: only after a gap).
        public var resyncInterval: Duration?
        /// Creates the configuration.
        public init(
            horizonMs: Int64 = 86_400_000, slackMs: Int64 = 1_800_000, refreshInterval: Duration = .seconds(1),
            resyncInterval: Duration? = .seconds(1_800)
        ) {
            self.horizonMs = horizonMs
            self.slackMs = slackMs
            self.refreshInterval = refreshInterval
            self.resyncInterval = resyncInterval
        }
    }

    /// One funnel's records: each entity's step times, and a number that changes whenever they do.
    private struct Held {
        var steps: Int
        var entities: [String: EntityProgress] = [:]
        var version: UInt64 = 0
    }

    /// One funnel's figures over one window, evaluated from the records of `version` at `fromMs`: the same at every
    /// time up to `untilMs` (exclusive) while the records are unchanged (``FunnelEvaluator/evaluateWithHorizon(_:
    /// steps:conversionMs:windowMs:at:)``).
    private struct Figures {
        var version: UInt64
        var fromMs: Int64
        var untilMs: Int64
        var result: FunnelEvaluator.Result
    }

    private struct FiguresKey: Hashable {
        var funnel: String
        var windowMs: Int64
    }

    private let configuration: Configuration
    private let reader: FunnelReader
    private let feed: any FunnelStepFeed
    private let now: @Sendable () -> Int64
    private let logger: Logger
    /// By the funnels' storage names.
    private var held: [String: Held] = [:]
    /// The last version given to a funnel's records.
    private var lastVersion: UInt64 = 0
    /// The figures last evaluated per funnel and window: a scrape, an alert rule and the console's funnel page reading
    /// a day of records between two changes get them without evaluating the records again.
    private var figures: [FiguresKey: Figures] = [:]
    /// Figures evaluated, and figures answered from ``figures`` (a test's view).
    public private(set) var evaluations = 0
    public private(set) var figuresReused = 0
    private var cursor: FeedCursor?
    /// Every record with a time after this is held (and no other); meaningful while `cursor` is set.
    public private(set) var coveredAfterMs: Int64 = .max
    private var loadedAtMs: Int64 = 0
    var polls = SingleFlightPolls()
    /// How many times every record was read from the stores (the first time included).
    public private(set) var loads = 0
    /// Records applied from the log since the cache started.
    public private(set) var recordsFollowed = 0

    /// Creates the cache of `reader`'s funnels (which must read the stores: not itself cached) following `feed`;
    /// `now` is the clock (unix milliseconds) that decides the horizon and which store holds a record.
    public init(
        configuration: Configuration = .init(), reader: FunnelReader, feed: any FunnelStepFeed, logger: Logger,
        now: @escaping @Sendable () -> Int64
    ) {
        self.configuration = configuration
        self.reader = reader
        self.feed = feed
        self.logger = logger
        self.now = now
    }

    /// The figures of `funnel` over each of `windowsMs` ending at `t` (not after now), including every record
    /// committed before the call; nil when the cache cannot tell them (the window reaches back further than the
    /// records held, or the funnel is not one of the reader's).
    ///
    /// The evaluation runs outside the actor, on a copy-on-write snapshot of the records: concurrent reads
    /// evaluate in parallel, and polls do not wait behind them.
    public nonisolated func results(_ funnel: FunnelDefinition, windowsMs: [Int64], at t: Int64) async throws
        -> [FunnelEvaluator.Result]?
    {
        guard let longest = windowsMs.max(), reader.funnels.contains(funnel),
            let (entities, version) = try await entities(of: funnel, from: t - longest)
        else { return nil }
        // An attempt starting in (t − W, t] uses only records in that range (later steps come at or after step 1
        // and at or before t), so the records held beyond it change nothing: as in FunnelReader.
        var out: [FunnelEvaluator.Result] = []
        for w in windowsMs {
            let key = FiguresKey(funnel: funnel.storageName, windowMs: w)
            if let kept = await keptFigures(key, version: version, at: t) {
                out.append(kept)
                continue
            }
            let (result, changesAt) = FunnelEvaluator.evaluateWithHorizon(
                entities.values, steps: funnel.steps.count, conversionMs: funnel.windowMs, windowMs: w, at: t)
            await keep(Figures(version: version, fromMs: t, untilMs: changesAt, result: result), for: key)
            out.append(result)
        }
        return out
    }

    /// The figures kept for `key` when evaluated from the records of `version` and still those at `t`.
    private func keptFigures(_ key: FiguresKey, version: UInt64, at t: Int64) -> FunnelEvaluator.Result? {
        guard let kept = figures[key], kept.version == version, kept.fromMs <= t, t < kept.untilMs else { return nil }
        figuresReused += 1
        return kept.result
    }

    private func keep(_ kept: Figures, for key: FiguresKey) {
        evaluations += 1
        // Figures of records replaced since are not kept (they could only be asked by a read that began earlier).
        guard held[key.funnel]?.version == kept.version else { return }
        // Bounded: any window can be asked for (`/api/v1/funnels/NAME?window=`), so a reader asking many would
        // otherwise grow this without end. Figures of records changed since go first, then all.
        if figures[key] == nil, figures.count >= Self.maxFigures {
            figures = figures.filter { held[$0.key.funnel]?.version == $0.value.version }
            if figures.count >= Self.maxFigures { figures.removeAll() }
        }
        figures[key] = kept
    }

    /// The most funnel-and-window figures kept.
    static let maxFigures = 64

    /// Funnel-and-window figures kept (a test's view).
    public var figuresKept: Int { figures.count }

    /// `funnel`'s records and their version, up to date with every commit made before the call; nil when they do not
    /// reach back to `fromMs` (exclusive).
    private func entities(of funnel: FunnelDefinition, from fromMs: Int64) async throws -> (
        [String: EntityProgress], UInt64
    )? {
        // Cheap refusal first: a window beyond the horizon is never held, so it need not wait for a poll.
        if cursor != nil, fromMs < coveredAfterMs { return nil }
        try await refresh()
        guard cursor != nil, fromMs >= coveredAfterMs, let h = held[funnel.storageName] else { return nil }
        return (h.entities, h.version)
    }

    /// A version no records had before.
    private func nextVersion() -> UInt64 {
        lastVersion += 1
        return lastVersion
    }

    /// Polls the log, or waits for a poll that started after this call.
    public func refresh() async throws { try await pollOrJoin() }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await refresh() } catch {
                logger.warning("funnel cache poll failed", metadata: ["error": "\(error)"])
            }
            let pause = configuration.refreshInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }

    func pollOnce() async throws {
        let t = now()
        let resyncDue = configuration.resyncInterval.map { t - loadedAtMs >= Self.milliseconds($0) } ?? false
        if let cursor, !resyncDue {
            let p = try await feed.pollFunnelSteps(after: cursor)
            if !p.gap {
                // No suspension from here on: the records change in place.
                apply(p.records)
                self.cursor = p.cursor
                trim(at: t)
                return
            }
            logger.info(
                "the funnel step log has a gap (trimmed, or the hot store was reset); reading the records again")
        }
        try await load(at: t)
    }

    /// Reads every record after `t − horizon − slack` again: the log first (its cursor, and every entry it still
    /// holds), then the stores. An entry committed after the log's read is applied by the next poll (again, if the
    /// stores' read already found its records — they are sets).
    private func load(at t: Int64) async throws {
        cursor = nil
        held = [:]
        let p = try await feed.pollFunnelSteps(after: nil)
        let after = t - configuration.horizonMs - configuration.slackMs
        var fresh: [String: Held] = [:]
        for funnel in reader.funnels {
            let steps = funnel.steps.count
            let records = try await reader.steps(
                funnel.storageName, afterMs: after, throughMs: MetricsReader.timeRangeMs.upperBound, nowMs: t)
            var times: [String: [[Int64]]] = [:]
            for r in records where r.step < steps {
                times[r.entity, default: Array(repeating: [], count: steps)][r.step].append(r.timestampMs)
            }
            var h = Held(steps: steps, version: nextVersion())
            h.entities.reserveCapacity(times.count)
            for (entity, list) in times { h.entities[entity] = EntityProgress(unsortedStepTimes: list) }
            fresh[funnel.storageName] = h
        }
        held = fresh
        coveredAfterMs = after
        // Records the hot store took before the cursor but the durable store perhaps not yet: late ones, older than
        // the hot store keeps, would otherwise be missing until the next load.
        apply(p.records)
        loadedAtMs = t
        cursor = p.cursor
        loads += 1
    }

    /// Adds records from the log: those after the horizon of funnels held, each once.
    private func apply(_ records: [FunnelStepRecord]) {
        for r in records where r.timestampMs > coveredAfterMs {
            guard let steps = held[r.funnel]?.steps, r.step >= 0, r.step < steps else { continue }
            held[r.funnel]!.entities[r.entity, default: EntityProgress(steps: steps)].record(
                step: r.step, at: r.timestampMs)
            held[r.funnel]!.version = nextVersion()
            recordsFollowed += 1
        }
    }

    /// Forgets the records past the horizon and its slack, once the slack is half used up.
    private func trim(at t: Int64) {
        let after = t - configuration.horizonMs - configuration.slackMs
        guard after - coveredAfterMs >= configuration.slackMs / 2 else { return }
        for name in held.keys {
            var kept: [String: EntityProgress] = [:]
            for case (let entity, var progress) in held[name]!.entities where !progress.forget(atOrBefore: after) {
                kept[entity] = progress
            }
            held[name]!.entities = kept
            held[name]!.version = nextVersion()
        }
        coveredAfterMs = after
    }

    private static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}
