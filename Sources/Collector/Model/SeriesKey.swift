import OpsightMetrics

/// Labels of a request series: one route template and method of a service.
///
/// The key holds the number its labels were given in ``SeriesLabels`` (one table per process), not the labels:
/// a key is copied into every dictionary on the write path (the batch's cells, both lanes' chunks, the flush's
/// grouping, the window caches), and three `String`s per key were retained and released at every copy, hashed
/// and compared at every probe; an integer is none of that (docs/benchmarks.md). The labels are read back from the
/// table, which is never emptied: equal keys are equal labels for the life of the process.
public struct RequestKey: BucketKey {
    /// The labels' number in ``SeriesLabels/shared``.
    let id: UInt32
    public var seriesNumber: UInt32? { id }
    public var service: String { SeriesLabels.shared[id].first }
    public var route: String { SeriesLabels.shared[id].second }
    public var method: String { SeriesLabels.shared[id].third }
    /// All three labels at once: `first` service, `second` route, `third` method (one read of the table where the
    /// three accessors make three).
    public var labels: SeriesLabels.Labels { SeriesLabels.shared[id] }
    /// Creates the key.
    @inline(__always)
    public init(service: String, route: String, method: String) {
        id = SeriesLabels.shared.id(service, route, method)
    }

    /// The key of series number `number`, one ``SeriesLabels/shared`` gave (``SeriesLabels/contains(_:)``).
    init(number: UInt32) {
        id = number
    }

    /// Hashes the number without `Hasher` (see ``Bucketed/_rawHashValue(seed:)``): windows and query results are
    /// dictionaries keyed by series, filled cell by cell as commits land.
    public func _rawHashValue(seed: Int) -> Int { seriesHash(number: id, bucket: 0, seed: seed) }
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
public struct JobKey: BucketKey {
    private let id: UInt32
    public var seriesNumber: UInt32? { id }
    public var service: String { SeriesLabels.shared[id].first }
    public var queue: String { SeriesLabels.shared[id].second }
    public var job: String { SeriesLabels.shared[id].third }
    /// All three labels at once: `first` service, `second` queue, `third` job.
    public var labels: SeriesLabels.Labels { SeriesLabels.shared[id] }
    /// Creates the key.
    @inline(__always)
    public init(service: String, queue: String, job: String) {
        id = SeriesLabels.shared.id(service, queue, job)
    }

    /// Hashes the number without `Hasher`, as ``RequestKey`` does.
    public func _rawHashValue(seed: Int) -> Int { seriesHash(number: id, bucket: 0, seed: seed) }
}

/// What ``Bucketed`` cells are keyed by: a series key, or a service's name (log cells).
public protocol BucketKey: Hashable, Sendable {
    /// The series' number when the key is a series key (equal numbers are equal keys); nil for other keys.
    var seriesNumber: UInt32? { get }
}

extension String: BucketKey {
    public var seriesNumber: UInt32? { nil }
}

/// A series key in one time bucket: the unit that pre-aggregation and both stores work in.
public struct Bucketed<Key: BucketKey>: Hashable, Sendable {
    public var key: Key
    public var bucket: Int64
    /// Creates the pair.
    public init(_ key: Key, bucket: Int64) {
        self.key = key
        self.bucket = bucket
    }

    /// The hash a `Dictionary` or `Set` with per-instance `seed` places the cell by (`Hashable`'s customisation point,
    /// which the standard library's integers implement the same way).
    ///
    /// A cell of a series key is two integers: a splitmix64 finalizer of the number, the bucket and the seed places it
    /// as well as SipHash would, at a few multiplications. Every cell of every event passes through several of these
    /// dictionaries (the batch's cells, both lanes' chunks, the flush's grouping), and `Hasher`'s set-up and rounds were
    /// ~5 % of the collector's CPU at full HTTP ingest (docs/benchmarks.md). Collisions cost probes, never
    /// correctness (`==` decides); the numbers are the process's own and buckets lie within the ingest window, so a
    /// sender cannot aim at one. Other keys (service names) hash through `Hasher` with the seed mixed in.
    public func _rawHashValue(seed: Int) -> Int {
        guard let number = key.seriesNumber else {
            var hasher = Hasher()
            hasher.combine(seed)
            hash(into: &hasher)
            return hasher.finalize()
        }
        return seriesHash(number: number, bucket: bucket, seed: seed)
    }
}

/// A splitmix64 finalizer of a series number, a bucket and a hash table's seed: the hash of series keys and their cells.
@inline(__always)
func seriesHash(number: UInt32, bucket: Int64, seed: Int) -> Int {
    var x = UInt64(bitPattern: bucket) &+ UInt64(number) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(UInt(bitPattern: seed))
    x = (x ^ (x &>> 30)) &* 0xBF58_476D_1CE4_E5B9
    x = (x ^ (x &>> 27)) &* 0x94D0_49BB_1331_11EB
    return Int(truncatingIfNeeded: x ^ (x &>> 31))
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
