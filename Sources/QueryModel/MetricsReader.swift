import Collector
import OpsightMetrics
import PromQL
import Synchronization

/// Reads a sliding window `(t − W, t]` of every series from the store that can answer it exactly.
///
/// Windows up to `maxHotWindowMs` whose older edge is still in Redis come from the 10-second buckets. Longer
/// ones come from the 1-minute rollups, except the last two minutes, which are read from the hot buckets:
/// rollups are written every few seconds, the hot buckets within a fraction of a second.
public struct MetricsReader: Sendable {
    /// Where the reader looks.
    public struct Configuration: Sendable {
        /// Longest window served from the hot store.
        public var maxHotWindowMs: Int64
        /// How far back the hot store keeps buckets.
        public var hotRetentionMs: Int64
        /// Creates the configuration.
        public init(maxHotWindowMs: Int64 = 3_600_000, hotRetentionMs: Int64 = 4_500_000) {
            self.maxHotWindowMs = maxHotWindowMs
            self.hotRetentionMs = hotRetentionMs
        }
    }

    /// A window read: the merged series and the evaluation time used.
    public struct Result: Sendable {
        public var data: WindowData
        /// The end of the window that was read, unix milliseconds.
        public var timeMs: Int64
        /// Which cached sums `data` is, when it is all of them: two reads of one window with the same version hold
        /// the same series. Nil for a direct store read and for a read filtered to one service.
        public var version: Version? = nil
    }

    /// The identity of a cached window's contents (see ``Result/version``).
    public enum Version: Hashable, Sendable {
        /// A window of the hot cache at this ``WindowCache/Snapshot/version``.
        case cached(UInt64)
        /// A long window summed from the durable cache's and the hot cache's tail at these versions.
        case combined(cold: UInt64, tail: UInt64)
    }

    private let configuration: Configuration
    private let hot: any MetricsStore
    private let durable: any MetricsStore
    private let cache: WindowCache?
    private let longCache: WindowCache?
    private let clock: WallClock
    let combined = CombinedWindows()
    private let byService = PerServiceSums()
    /// The hot buckets' and the durable minutes' contents for range queries of the service and job families
    /// (``RangeWindows/Contents``) and of one service, kept while unchanged: per store (durable or not) and contents.
    private let summaries: [Bool: [RangeWindows.Contents: BucketSummaries]]
    /// The newest windows of range queries' sliders, for the next query of the same windows (``KeptWindows``).
    let keptWindows = KeptWindows()

    /// Creates a reader over the two stores; windows at the current time that `cache` keeps come from it, and
    /// those longer than an hour that `longCache` (over the durable store's minutes) keeps come from it and from
    /// `cache`'s ``WindowCache/tail()``. `clock` tells how far back the hot store still holds a past time.
    public init(
        configuration: Configuration = .init(), hot: any MetricsStore, durable: any MetricsStore,
        cache: WindowCache? = nil, longCache: WindowCache? = nil, clock: WallClock = .system
    ) {
        self.configuration = configuration
        self.hot = hot
        self.durable = durable
        self.cache = cache
        self.longCache = longCache
        self.clock = clock
        var summaries: [Bool: [RangeWindows.Contents: BucketSummaries]] = [:]
        for (isDurable, store, cache) in [(false, hot, cache), (true, durable, longCache)] {
            guard let cache else { continue }
            for contents in [RangeWindows.Contents.serviceSums, .jobs, .all] {
                summaries[isDurable, default: [:]][contents] = BucketSummaries(
                    store: store, cache: cache, contents: contents,
                    // One service's series are many more cells than sums: ~60 000 (~15 MB) hold an hour of a
                    // service of 500 routes under moderate traffic; the rest are read again.
                    maxCells: contents == .all ? 60_000 : 150_000)
            }
        }
        self.summaries = summaries
    }

    /// The longest window read from the hot store's buckets; longer ones are long windows (``longParts(windowMs:)``).
    public var maxHotWindowMs: Int64 { configuration.maxHotWindowMs }

    /// The hot store's running totals (the `_total` counters) as the hot cache keeps them, including every commit
    /// made before the call, with their version; nil when the cache does not keep them (read them from the store).
    public func cachedTotals() async throws -> (data: WindowData, version: UInt64)? {
        try await cache?.totals()
    }

    /// A long window at the current time from the caches: the durable minutes through two minutes back
    /// (`longCache`) and the hot buckets since (`cache`'s tail), both ending in the same minute. Nil when either
    /// is not kept or a minute keeps turning between the two reads; a store's error is thrown, as a direct read
    /// of the same store would throw it.
    private func cachedLong(windowMs: Int64) async throws -> Result? {
        guard let parts = try await longParts(windowMs: windowMs) else { return nil }
        let data = await combined.sum(windowMs: windowMs, cold: parts.cold, tail: parts.tail)
        return Result(data: data, timeMs: parts.tail.timeMs, version: parts.version)
    }

    /// A long window at the current time as its two cached parts, not summed (see ``cachedLong(windowMs:)``): nil
    /// when it is not a window over an hour kept in both caches, or a minute keeps turning between the two reads.
    public func longParts(windowMs: Int64) async throws -> LongParts? {
        guard windowMs > configuration.maxHotWindowMs, let cache, cache.keepsTail, let longCache,
            longCache.windowsMs.contains(windowMs)
        else { return nil }
        for _ in 0..<3 {
            guard let tail = try await cache.tail(), let cold = try await longCache.snapshot(windowMs) else {
                return nil
            }
            // The cold part is polled after the tail, so it ends in the tail's minute or a later one.
            guard cold.newest == TimeBucket.index(ofMs: tail.timeMs, widthMs: TimeBucket.durableWidthMs) - 2 else {
                continue
            }
            return LongParts(cold: cold, tail: tail)
        }
        return nil
    }

    /// The request series of window `windowMs` at the current time that changed from the cached read at version
    /// `from` to the one at `to` (``Result/version``); nil when the caches cannot tell.
    func changedSeries(windowMs: Int64, from: Version, to: Version) async -> ChangedSeries? {
        switch (from, to) {
        case (.cached(let a), .cached(let b)):
            return await cache?.changedSeries(windowMs, after: a, through: b)
        case (.combined(let coldA, let tailA), .combined(let coldB, let tailB)):
            guard var cold = await longCache?.changedSeries(windowMs, after: coldA, through: coldB),
                let tail = await cache?.changedSeries(WindowCache.tailKey, after: tailA, through: tailB)
            else { return nil }
            cold.formUnion(tail)
            return cold
        default:
            return nil
        }
    }

    /// A long window's two cached parts: the durable cache's minutes through two minutes back, and the hot cache's
    /// buckets since. Their sum is the window.
    public struct LongParts: Sendable {
        public var cold: WindowCache.Snapshot
        public var tail: WindowCache.Snapshot
        /// The version a ``Result`` of their sum has.
        public var version: Version { .combined(cold: cold.version, tail: tail.version) }
    }

    /// `result`'s request series summed per service (``WindowData/requestsByService(latency:)``), from the last sum of
    /// the same window when `result` has the same version as it had: merging 10 000 series' sketches into one per
    /// service is most of a services overview, and between two changes of a window every read would repeat it.
    public func requestsByService(_ result: Result, windowMs: Int64) -> [String: RequestStats] {
        byService.sum(result, windowMs: windowMs)
    }

    /// Buckets of each store the range queries' summaries answered from memory and read (a test's view).
    func summariesAnswered(_ contents: RangeWindows.Contents) -> (
        hot: (kept: Int, read: Int)?, durable: (kept: Int, read: Int)?
    ) {
        (summaries[false]?[contents]?.answered, summaries[true]?[contents]?.answered)
    }

    /// The windows of a range query through `endMs` at steps `stepMs` apart, slid over the stores' buckets from step to
    /// step (``RangeWindows``).
    public func rangeWindows(endMs: Int64, stepMs: Int64, configuration: RangeWindows.Configuration = .init())
        -> RangeWindows
    {
        RangeWindows(
            hot: hot, durable: durable, maxHotWindowMs: self.configuration.maxHotWindowMs,
            oldestHotMs: clock.nowMs() - self.configuration.hotRetentionMs, endMs: endMs, stepMs: stepMs,
            configuration: configuration, summaries: { [summaries] in summaries[$0]?[$1] },
            keptWindows: cache == nil ? nil : keptWindows)
    }

    /// The hot cache's stamp of `hot` buckets and the long cache's of `durable` minutes (``WindowCache/bucketStamp(_:)``);
    /// nil for a cache that is not kept, does not track its buckets or cannot poll its store now.
    func bucketStamps(hot: ClosedRange<Int64>, durable: ClosedRange<Int64>) async -> StepResults.Stamps {
        async let hotStamp = try? cache?.bucketStamp(hot)
        async let durableStamp = try? longCache?.bucketStamp(durable)
        return StepResults.Stamps(
            hot: await hotStamp ?? nil, durable: await durableStamp ?? nil, hotBuckets: hot, durableBuckets: durable)
    }

    /// The longest window read (31 days); longer ones are refused rather than read.
    public static let maxWindowMs: Int64 = 31 * 86_400_000
    /// Evaluation times accepted, unix milliseconds (1970 to 2100): far enough from `Int64`'s ends that no
    /// bucket arithmetic below can overflow, whatever a query asks.
    public static let timeRangeMs: ClosedRange<Int64> = 0...4_102_444_800_000

    /// Reads window `windowMs` ending at `time` for `service` (nil: all services).
    ///
    /// At the current time (`time.isNow`) the window includes everything committed so far and only its older
    /// edge is on the grid; a given time is rounded down to the grid of the store that answers.
    public func window(service: String?, windowMs: Int64, at time: EvaluationTime) async throws -> Result {
        let hotW = TimeBucket.hotWidthMs
        let durW = TimeBucket.durableWidthMs
        guard windowMs > 0, windowMs <= Self.maxWindowMs, windowMs % hotW == 0 else {
            throw CollectorError(.invalid, "window must be a multiple of 10s from 10s to 31d")
        }
        guard Self.timeRangeMs.contains(time.milliseconds) else {
            throw CollectorError(.invalid, "time must lie between 1970 and 2100")
        }
        let atNow = time.isNow
        let nowMs = atNow ? time.milliseconds : clock.nowMs()
        if atNow, let cache, cache.windowsMs.contains(windowMs) {
            // A failed poll leaves the answer to the direct read below, which reports the store's error.
            if let cached = try? await cache.snapshot(windowMs) {
                guard let service else {
                    return Result(data: cached.data, timeMs: cached.timeMs, version: .cached(cached.version))
                }
                return Result(data: cached.data.filtered(service: service), timeMs: cached.timeMs)
            }
        }
        if atNow, windowMs > configuration.maxHotWindowMs, let cached = try await cachedLong(windowMs: windowMs) {
            guard let service else { return cached }
            return Result(data: cached.data.filtered(service: service), timeMs: cached.timeMs)
        }
        let t = time.milliseconds
        let oldestHot = nowMs - configuration.hotRetentionMs
        if windowMs <= configuration.maxHotWindowMs {
            let k = atNow ? TimeBucket.index(ofMs: t, widthMs: hotW) : floorDiv(t, hotW)
            let first = k - windowMs / hotW + 1
            if (first - 1) * hotW >= oldestHot {
                let data = try await hot.read(service: service, buckets: first...k)
                return Result(data: data, timeMs: atNow ? t : k * hotW)
            }
        }
        guard windowMs % durW == 0 else {
            throw CollectorError(.invalid, "windows served from 1-minute rollups must be whole minutes")
        }
        let k = atNow ? TimeBucket.index(ofMs: t, widthMs: durW) : floorDiv(t, durW)
        let first = k - windowMs / durW + 1
        var data = WindowData()
        // The newest two minutes from the hot buckets when they are still there (see the type's comment).
        let hotMinutes: Int64 = windowMs >= 2 * durW && (k - 2) * durW >= oldestHot ? 2 : 0
        if first <= k - hotMinutes {
            data = try await durable.read(service: service, buckets: first...(k - hotMinutes))
        }
        if hotMinutes > 0 {
            let hotFirst = (k - hotMinutes) * (durW / hotW) + 1
            let hotLast = atNow ? TimeBucket.index(ofMs: t, widthMs: hotW) : k * (durW / hotW)
            data.merge(try await hot.read(service: service, buckets: hotFirst...hotLast))
        }
        return Result(data: data, timeMs: atNow ? t : k * durW)
    }

    /// ``window(service:windowMs:at:)`` of `service` at each of `times` (given times, not now), each point's data
    /// reduced by `project` and summed with `merge` — a chart. A point whose window lies in the hot buckets is summed
    /// from buckets read once for every point (one pipeline per run of adjacent buckets), not once per point whose
    /// window holds them: a chart of an hour at 30 s steps with a 5-minute window reads each bucket once instead of
    /// ten times, and reduces each once. Other points are read as ``window(service:windowMs:at:)`` reads them.
    ///
    /// `project` must distribute over sums, `merge(project(a), project(b)) == project(a + b)`, as adding up the
    /// series a chart shows does.
    public func windowSeries<P>(
        service: String, windowMs: Int64, at times: [Int64], empty: P, project: (WindowData) -> P,
        merge: (inout P, P) -> Void
    ) async throws -> [P] {
        let hotW = TimeBucket.hotWidthMs
        let oldestHot = clock.nowMs() - configuration.hotRetentionMs
        // The hot buckets of each point that the hot store answers (as in `window`), else nil.
        let ranges: [ClosedRange<Int64>?] = times.map { t in
            guard windowMs > 0, windowMs <= configuration.maxHotWindowMs, windowMs % hotW == 0,
                Self.timeRangeMs.contains(t)
            else { return nil }
            let k = floorDiv(t, hotW)
            let first = k - windowMs / hotW + 1
            return (first - 1) * hotW >= oldestHot ? first...k : nil
        }
        // Every bucket some point needs, as runs of adjacent buckets, each read in one go.
        var runs: [ClosedRange<Int64>] = []
        for r in ranges.compactMap({ $0 }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = runs.last, r.lowerBound <= last.upperBound + 1 {
                runs[runs.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                runs.append(r)
            }
        }
        var projected: [Int64: P] = [:]
        for run in runs {
            try Task.checkCancellation()
            for (b, data) in try await hot.readEach(service: service, buckets: run) { projected[b] = project(data) }
        }
        var out: [P] = []
        out.reserveCapacity(times.count)
        for (t, range) in zip(times, ranges) {
            try Task.checkCancellation()
            guard let range else {
                out.append(project(try await window(service: service, windowMs: windowMs, at: .at(t)).data))
                continue
            }
            var sum = empty
            for b in range { if let p = projected[b] { merge(&sum, p) } }
            out.append(sum)
        }
        return out
    }

    private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { TimeBucket.floorDiv(a, b) }
}

/// The last sum of each long window's two parts, kept while neither part has moved: merging a day's 10 000 series
/// into a copy costs more than the rest of a read, and between two polls of the caches every read would repeat it.
/// Reads that find the same parts while their sum is being made wait for it (single flight): a dashboard's panels
/// and several clients reading one window after a new tail would otherwise each merge the day on the two cores.
final class CombinedWindows: Sendable {
    private struct Entry {
        var cold: UInt64
        var tail: UInt64
        var sum: Task<WindowData, Never>
    }

    private let entries = Mutex<[Int64: Entry]>([:])
    private let made = Atomic<Int>(0)

    /// Sums made so far (a test's view of whether reads shared one).
    var sums: Int { made.load(ordering: .relaxed) }

    /// `cold` + `tail` for `windowMs`, from the last sum when both parts are the same polls' as then.
    func sum(windowMs: Int64, cold: WindowCache.Snapshot, tail: WindowCache.Snapshot) async -> WindowData {
        let task = entries.withLock { entries in
            if let hit = entries[windowMs], hit.cold == cold.version, hit.tail == tail.version { return hit.sum }
            made.add(1, ordering: .relaxed)
            let sum = Task {
                var data = cold.data
                data.merge(tail.data)
                return data
            }
            entries[windowMs] = Entry(cold: cold.version, tail: tail.version, sum: sum)
            return sum
        }
        return await task.value
    }
}

/// The last per-service sum of each window at the current time, with the version it was summed from (see
/// ``MetricsReader/requestsByService(_:windowMs:)``).
final class PerServiceSums: Sendable {
    private let entries = Mutex<[Int64: (version: MetricsReader.Version, sums: [String: RequestStats])]>([:])

    func sum(_ result: MetricsReader.Result, windowMs: Int64) -> [String: RequestStats] {
        guard let version = result.version else { return result.data.requestsByService() }
        if let hit = entries.withLock({ $0[windowMs] }), hit.version == version { return hit.sums }
        let sums = result.data.requestsByService()
        entries.withLock { $0[windowMs] = (version, sums) }
        return sums
    }
}
