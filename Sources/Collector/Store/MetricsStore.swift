/// A store of bucketed statistics: Redis for the hot 10-second buckets, PostgreSQL for 1-minute rollups.
///
/// A commit writes a delta together with the write-ahead-log position it covers, atomically, so after a
/// crash the collector replays the log from exactly that position into that store.
public protocol MetricsStore: Sendable {
    /// Width of this store's buckets in milliseconds.
    var bucketWidthMs: Int64 { get }
    /// How far back from now this store can answer exactly, in milliseconds (nil: unbounded).
    var retentionMs: Int64? { get }
    /// The last log position committed by `collector`; 0 when it never committed.
    func committedPosition(collector: String) async throws -> UInt64
    /// Adds `delta` and records `position` for `collector`, all or nothing.
    func commit(_ delta: Delta, position: UInt64, collector: String) async throws
    /// Sums the series of `service` (all services when nil) over the buckets `buckets`.
    func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData
    /// The series of `service` (all services when nil) in each bucket of `buckets` on its own, by bucket (buckets
    /// without any left out): what ``read(service:buckets:)`` of each single bucket returns, read together.
    func readEach(service: String?, buckets: ClosedRange<Int64>) async throws -> [Int64: WindowData]
    /// Every service that has data.
    func services() async throws -> [String]
    /// Throws when the store cannot be reached.
    func ping() async throws
    /// Merges the many flush deltas of the buckets in `buckets` into one per series and bucket; reads stay
    /// the same, only cheaper. Stores whose buckets are single cells already do nothing.
    func compact(buckets: ClosedRange<Int64>) async throws
    /// Counts of every series since the store began (sketches left empty): the `_total` counters.
    func totals() async throws -> WindowData
    /// Does the upkeep the store puts off while commits come fast, for as long as `keepGoing` says so: the flush
    /// calls it once it has caught up. Reads are the same before and after.
    func tidy(while keepGoing: () -> Bool) async
}

extension MetricsStore {
    /// Nothing to merge.
    public func compact(buckets: ClosedRange<Int64>) async throws {}

    /// No upkeep.
    public func tidy(while keepGoing: () -> Bool) async {}

    /// One ``read(service:buckets:)`` per bucket; stores that can read several buckets in one round trip do.
    public func readEach(service: String?, buckets: ClosedRange<Int64>) async throws -> [Int64: WindowData] {
        var out: [Int64: WindowData] = [:]
        for b in buckets {
            let data = try await read(service: service, buckets: b...b)
            if !data.requests.isEmpty || !data.jobs.isEmpty || !data.logs.isEmpty { out[b] = data }
        }
        return out
    }

    /// Sums every bucket; stores that keep running totals answer faster.
    public func totals() async throws -> WindowData {
        var all = try await read(service: nil, buckets: Int64.min...Int64.max)
        for k in all.requests.keys { all.requests[k]?.latency = .init() }
        for k in all.jobs.keys {
            all.jobs[k]?.duration = .init()
            all.jobs[k]?.wait = .init()
            all.jobs[k]?.waitRetracted = .init()
        }
        return all
    }
}
