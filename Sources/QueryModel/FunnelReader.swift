import Collector
import OpsightMetrics
import PromQL

/// The figures of configured funnels over windows ending at one time, computed from the stores' step records.
///
/// Every step record with a time in the longest window asked for is read once and the windows are evaluated on
/// it ( ``FunnelEvaluator`` ): an attempt starting in `(t − W, t]` only uses events in that range, since later
/// steps come at or after step 1 and at or before t. So the figures are exact at any t, not only on a grid.
/// Records of the hot store's range (its retention less a margin) come from Redis, written within a fraction of
/// a second of the acknowledgement; older ones from PostgreSQL. A record read twice (stored twice after a
/// replay) counts once: the evaluation takes each entity's step times as a set.
///
/// With a ``FunnelCache`` (``cached(by:)``) the records come from the cache's memory instead, whenever it holds the
/// whole window; the figures are the same.
public struct FunnelReader: Sendable {
    /// How far back the hot store can be trusted to hold every record.
    public struct Configuration: Sendable {
        /// The hot store's retention, ms (``MetricsStore/retentionMs`` of the Redis store).
        public var hotRetentionMs: Int64
        /// How much younger than the retention the hot store's range is taken to be: room for collectors whose
        /// clocks (which time the trim) run ahead of this one's.
        public var marginMs: Int64
        /// Creates the configuration.
        public init(hotRetentionMs: Int64 = 4_500_000, marginMs: Int64 = 300_000) {
            self.hotRetentionMs = hotRetentionMs
            self.marginMs = marginMs
        }
    }

    /// One funnel over one window.
    public struct Figures: Sendable, Equatable {
        public var funnel: FunnelDefinition
        public var windowMs: Int64
        /// The end of the window, unix ms.
        public var timeMs: Int64
        public var result: FunnelEvaluator.Result

        /// Reached step `index` (0-based) / entered; nil when no entity entered.
        public func conversion(_ index: Int) -> Double? {
            result.entered > 0 ? Double(result.reached[index]) / Double(result.entered) : nil
        }

        /// Reached step `index` / reached the step before; nil when none reached that one.
        public func stepConversion(_ index: Int) -> Double? {
            guard index > 0 else { return conversion(0) }
            let before = result.reached[index - 1]
            return before > 0 ? Double(result.reached[index]) / Double(before) : nil
        }

        /// The exact q-quantile of time to convert in seconds (the sample at rank ⌊q·(n−1)⌋, SPEC §5); nil when
        /// nobody converted.
        public func timeToConvert(_ q: Double) -> Double? {
            let sorted = result.timesToConvertMs.sorted()
            guard !sorted.isEmpty, (0...1).contains(q) else { return nil }
            return Double(sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]) / 1000
        }
    }

    public let funnels: [FunnelDefinition]
    private let configuration: Configuration
    private let hot: any FunnelStepStore
    private let durable: any FunnelStepStore
    private let clock: WallClock
    private var cache: FunnelCache?

    /// Creates the reader of `funnels` over the two stores; `clock` tells which records the hot store still holds.
    public init(
        funnels: [FunnelDefinition], configuration: Configuration = .init(), hot: any FunnelStepStore,
        durable: any FunnelStepStore, clock: WallClock = .system
    ) {
        self.funnels = funnels
        self.configuration = configuration
        self.hot = hot
        self.durable = durable
        self.clock = clock
    }

    /// The same reader, taking records from `cache` when it holds them (`cache` must be over a reader without one).
    public func cached(by cache: FunnelCache) -> FunnelReader {
        var reader = self
        reader.cache = cache
        return reader
    }

    /// The funnel called `name`.
    public func funnel(named name: String) -> FunnelDefinition? { funnels.first { $0.name == name } }

    /// The figures of `funnel` over each of `windowsMs` ending at `time` (a time after now is now).
    ///
    /// Records keep their exact times, so any time is exact — no rounding to a grid, and a time a moment
    /// ago is that time, not now.
    public func figures(
        _ funnel: FunnelDefinition, windowsMs: [Int64], at time: EvaluationTime
    ) async throws -> [Figures] {
        guard let longest = windowsMs.max() else { return [] }
        guard windowsMs.allSatisfy({ $0 > 0 && $0 <= MetricsReader.maxWindowMs }) else {
            throw CollectorError(.invalid, "window must be from 1ms to 31d")
        }
        guard MetricsReader.timeRangeMs.contains(time.milliseconds) else {
            throw CollectorError(.invalid, "time must lie between 1970 and 2100")
        }
        let nowMs = time.isNow ? time.milliseconds : clock.nowMs()
        let t = min(time.milliseconds, nowMs)
        if let cache, let results = try await cache.results(funnel, windowsMs: windowsMs, at: t) {
            return zip(windowsMs, results).map { Figures(funnel: funnel, windowMs: $0, timeMs: t, result: $1) }
        }
        let records = try await steps(funnel.storageName, afterMs: t - longest, throughMs: t, nowMs: nowMs)
        let steps = funnel.steps.count
        var times: [String: [[Int64]]] = [:]
        for r in records where r.step < steps {
            times[r.entity, default: Array(repeating: [], count: steps)][r.step].append(r.timestampMs)
        }
        let entities = times.values.map { EntityProgress(unsortedStepTimes: $0) }
        return windowsMs.map { w in
            Figures(
                funnel: funnel, windowMs: w, timeMs: t,
                result: FunnelEvaluator.evaluate(
                    entities, steps: steps, conversionMs: funnel.windowMs, windowMs: w, at: t))
        }
    }

    /// The records of `(afterMs, throughMs]`, from the hot store where it still has them all.
    func steps(_ funnel: String, afterMs: Int64, throughMs: Int64, nowMs: Int64) async throws
        -> [FunnelStepRecord]
    {
        let hotOldest = nowMs - configuration.hotRetentionMs + configuration.marginMs
        if afterMs >= hotOldest { return try await hot.funnelSteps(funnel: funnel, afterMs: afterMs, throughMs: throughMs) }
        // Older than the hot range from the durable store; the rest from the hot one, which has the newest
        // records first (the durable store is written every few seconds).
        var all = try await durable.funnelSteps(funnel: funnel, afterMs: afterMs, throughMs: min(throughMs, hotOldest))
        if throughMs > hotOldest {
            all += try await hot.funnelSteps(funnel: funnel, afterMs: hotOldest, throughMs: throughMs)
        }
        return all
    }
}
