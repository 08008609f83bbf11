import OpsightMetrics

/// Labels of a request series: one route template and method of a service.
///
/// The key holds the number its labels were given in ``SeriesLabels`` (one table per process), not the labels:
/// a key is copied into every dictionary on the write path (the batch's cells, both lanes' chunks, the flush's
/// grouping, the window caches), and three `String`s per key were retained and released at every copy, hashed
/// and compared at every probe; an integer is none of that (docs/benchmarks.md). The labels are read back from the
/// table, which is never emptied: equal keys are equal labels for the life of the process.
public struct RequestKey: Hashable, Sendable {
    /// The labels' number in ``SeriesLabels/shared``.
    let id: UInt32
    public var service: String { SeriesLabels.shared[id].first }
    public var route: String { SeriesLabels.shared[id].second }
    public var method: String { SeriesLabels.shared[id].third }
    /// Creates the key.
    @inline(__always)
    public init(service: String, route: String, method: String) {
        id = SeriesLabels.shared.id(service, route, method)
    }
}

extension RequestKey {
    /// The series of a request event, as every store keys it: its route (`/` when it names none) and method (`ANY`).
    @inline(__always)
    init(of event: UnsafePointer<Event>) {
        self.init(
            service: event.pointee.service, route: event.pointee.route ?? "/", method: event.pointee.method ?? "ANY")
    }
}

/// Labels of a job series: one job type on one queue of a service. Held as a number, like ``RequestKey``.
public struct JobKey: Hashable, Sendable {
    private let id: UInt32
    public var service: String { SeriesLabels.shared[id].first }
    public var queue: String { SeriesLabels.shared[id].second }
    public var job: String { SeriesLabels.shared[id].third }
    /// Creates the key.
    @inline(__always)
    public init(service: String, queue: String, job: String) {
        id = SeriesLabels.shared.id(service, queue, job)
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
