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
    }

    private let configuration: Configuration
    private let hot: any MetricsStore
    private let durable: any MetricsStore
    private let cache: WindowCache?

    /// Creates a reader over the two stores; windows at the current time that `cache` keeps come from it.
    public init(
        configuration: Configuration = .init(), hot: any MetricsStore, durable: any MetricsStore,
        cache: WindowCache? = nil
    ) {
        self.configuration = configuration
        self.hot = hot
        self.durable = durable
        self.cache = cache
    }

    /// How far before the reader's now a requested time still counts as now, in milliseconds.
    public static let nowToleranceMs: Int64 = 2_000

    /// Reads window `windowMs` ending at `timeMs` (nil: now) for `service` (nil: all services).
    ///
    /// At the current time the window includes everything committed so far and only its older edge is on
    /// the grid; a past time is rounded down to the grid of the store that answers.
    public func window(service: String?, windowMs: Int64, timeMs: Int64?, nowMs: Int64) async throws -> Result {
        let hotW = TimeBucket.hotWidthMs
        let durW = TimeBucket.durableWidthMs
        guard windowMs > 0, windowMs % hotW == 0 else {
            throw CollectorError(.invalid, "window must be a positive multiple of 10s")
        }
        // A time within `nowToleranceMs` of now is now: an evaluation "at the current time" (an alert rule, an
        // instant query without `time`) reads its clock a moment before the reader does, and must not be rounded
        // down to the grid, which would hide the newest 10 seconds.
        let atNow = timeMs.map { $0 >= nowMs - Self.nowToleranceMs } ?? true
        if atNow, let cache, cache.windowsMs.contains(windowMs) {
            // A failed poll leaves the answer to the direct read below, which reports the store's error.
            if let cached = try? await cache.window(windowMs: windowMs) {
                return Result(
                    data: service.map { cached.data.filtered(service: $0) } ?? cached.data, timeMs: cached.timeMs)
            }
        }
        let t = atNow ? nowMs : timeMs!
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

    private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
