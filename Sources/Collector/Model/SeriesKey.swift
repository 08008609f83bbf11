/// Three label values whose hash is computed once, when they are put together: the storage of the series keys.
///
/// A cell's key is hashed in every dictionary it passes through on the write path (the batch's, its minute roll-up,
/// both lanes' chunks, the hot flush's grouping): with a file of the last hour that is about one new cell per event,
/// and hashing three strings each time was ~10 % of the collector's CPU at full HTTP ingest (perf,
/// docs/benchmarks.md). The hash uses the process's random seed and is never stored or sent.
public struct LabelTriple: Hashable, Sendable {
    public let first: String
    public let second: String
    public let third: String
    private let labelsHash: Int

    /// Puts the three values together.
    public init(_ first: String, _ second: String, _ third: String) {
        self.first = first
        self.second = second
        self.third = third
        var h = Hasher()
        h.combine(first)
        h.combine(second)
        h.combine(third)
        labelsHash = h.finalize()
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(labelsHash) }

    public static func == (a: LabelTriple, b: LabelTriple) -> Bool {
        a.labelsHash == b.labelsHash && a.second == b.second && a.first == b.first && a.third == b.third
    }
}

/// Labels of a request series: one route template and method of a service.
public struct RequestKey: Hashable, Sendable {
    private let labels: LabelTriple
    public var service: String { labels.first }
    public var route: String { labels.second }
    public var method: String { labels.third }
    /// Creates the key.
    public init(service: String, route: String, method: String) {
        labels = LabelTriple(service, route, method)
    }
}

/// Labels of a job series: one job type on one queue of a service.
public struct JobKey: Hashable, Sendable {
    private let labels: LabelTriple
    public var service: String { labels.first }
    public var queue: String { labels.second }
    public var job: String { labels.third }
    /// Creates the key.
    public init(service: String, queue: String, job: String) {
        labels = LabelTriple(service, queue, job)
    }
}

/// A series key in one time bucket: the unit that pre-aggregation and both stores work in.
public struct Bucketed<Key: Hashable & Sendable>: Hashable, Sendable {
    public var key: Key
    public var bucket: Int64
    /// Creates the pair.
    public init(_ key: Key, bucket: Int64) {
        self.key = key
        self.bucket = bucket
    }
}

/// Time buckets: bucket `k` of width `w` covers event times in `(k·w − w, k·w]`, so that a sliding window
/// `(t − W, t]` on the grid is exactly the buckets `t/w − W/w + 1 … t/w` (Prometheus 3 range semantics).
public enum TimeBucket {
    /// Width of a hot (Redis) bucket in milliseconds.
    public static let hotWidthMs: Int64 = 10_000
    /// Width of a durable (PostgreSQL) rollup bucket in milliseconds.
    public static let durableWidthMs: Int64 = 60_000
    /// Hot buckets per durable bucket.
    public static let hotPerDurable: Int64 = durableWidthMs / hotWidthMs

    /// The bucket holding an event time, for buckets of `widthMs`.
    @inlinable
    public static func index(ofMs ms: Int64, widthMs: Int64) -> Int64 {
        // ceil(ms / width) for positive and negative values alike.
        let q = ms / widthMs
        return ms % widthMs > 0 ? q + 1 : q
    }

    /// ⌊a / b⌋ for any signs (Swift's `/` rounds towards zero): the bucket a given time rounds down to is
    /// `floorDiv(ms, width)`.
    @inlinable
    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
