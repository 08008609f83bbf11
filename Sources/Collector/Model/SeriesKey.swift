/// Labels of a request series: one route template and method of a service.
public struct RequestKey: Hashable, Sendable {
    public var service: String
    public var route: String
    public var method: String
    /// Creates the key.
    public init(service: String, route: String, method: String) {
        self.service = service
        self.route = route
        self.method = method
    }
}

/// Labels of a job series: one job type on one queue of a service.
public struct JobKey: Hashable, Sendable {
    public var service: String
    public var queue: String
    public var job: String
    /// Creates the key.
    public init(service: String, queue: String, job: String) {
        self.service = service
        self.queue = queue
        self.job = job
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

    /// The bucket holding an event time, for buckets of `widthMs`.
    @inlinable
    public static func index(ofMs ms: Int64, widthMs: Int64) -> Int64 {
        // ceil(ms / width) for positive and negative values alike.
        let q = ms / widthMs
        return ms % widthMs > 0 ? q + 1 : q
    }
}
