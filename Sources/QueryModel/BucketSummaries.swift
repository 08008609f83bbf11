import Collector
import Synchronization

/// Each hot bucket's requests summed per service, kept from one range query to the next for as long as the store's
/// change feed shows the bucket unchanged.
///
/// The services' charts (the console's overview dashboard, Grafana panels of the `opsight_service_*` families) are
/// range queries whose every step is 20 services' sums; but each sum is made of every series of every bucket in the
/// range. At 10 000 series an hour of 5-minute windows is ~390 buckets read and parsed (~1.5 s), for every panel of a
/// dashboard and at every refresh, though all but the newest buckets hold what they held a minute before. Here a
/// bucket read once is kept summed per service (``WindowData/summedPerService()``: a few kilobytes) with the feed
/// position of a poll made before the read (``WindowCache/bucketStamp(_:)``); a later query answers it from memory
/// when no change to that bucket was committed after that position and the hot cache has not been rebuilt since (a
/// gap in the feed, a store that lost its data): exactly what reading the bucket again would return.
final class BucketSummaries: Sendable {
    private struct Entry {
        /// The hot cache's rebuild the stamp was of.
        var rebuild: Int
        /// The feed position the bucket was read after: it holds every change up to it.
        var asOf: UInt64
        var data: WindowData
    }

    private let store: any MetricsStore
    private let cache: WindowCache
    private let entries = Mutex<[Int64: Entry]>([:])
    /// Counts of buckets answered from memory and read from the store (a test's view).
    private let counts = Mutex<(kept: Int, read: Int)>((0, 0))

    /// Summaries of `store`'s buckets, told unchanged by `cache` (over the same store's feed).
    init(store: any MetricsStore, cache: WindowCache) {
        self.store = store
        self.cache = cache
    }

    /// The buckets of `range` that hold requests, each summed per service, as a read of the store after this call
    /// would return them; nil when the cache does not track the buckets' changes (read the store).
    func readEach(_ range: ClosedRange<Int64>) async throws -> [(Int64, WindowData)]? {
        guard let stamp = try await cache.bucketStamp(range) else { return nil }
        var found: [Int64: WindowData] = [:]
        var missing: ClosedRange<Int64>?
        entries.withLock { entries in
            for b in range {
                if stamp.tracked.contains(b), let e = entries[b], e.rebuild == stamp.rebuild,
                    (stamp.changed[b] ?? 0) <= e.asOf
                {
                    found[b] = e.data
                } else {
                    missing = missing.map { $0.lowerBound...b } ?? b...b
                }
            }
        }
        if let missing {
            // One read from the first bucket missing to the last (the newest buckets, usually: those still written).
            let read = try await store.readEach(service: nil, buckets: missing)
            var fresh: [Int64: WindowData] = [:]
            for b in missing { fresh[b] = read[b]?.summedPerService() ?? WindowData() }
            entries.withLock { entries in
                for (b, data) in fresh where stamp.tracked.contains(b) {
                    // A query that read the bucket after a later poll keeps its answer.
                    if let e = entries[b], e.rebuild == stamp.rebuild, e.asOf > stamp.sequence { continue }
                    entries[b] = Entry(rebuild: stamp.rebuild, asOf: stamp.sequence, data: data)
                }
                // Buckets the stamps no longer answer for, and summaries of an earlier rebuild.
                if entries.count > Int(WindowCache.trackedBuckets) {
                    entries = entries.filter { stamp.tracked.contains($0.key) && $0.value.rebuild == stamp.rebuild }
                }
            }
            found.merge(fresh) { _, new in new }
        }
        counts.withLock {
            $0.read += missing?.count ?? 0
            $0.kept += range.count - (missing?.count ?? 0)
        }
        return range.compactMap { b in found[b].flatMap { $0.requests.isEmpty ? nil : (b, $0) } }
    }

    /// Buckets answered from memory and read from the store so far (a test's view).
    var answered: (kept: Int, read: Int) { counts.withLock { $0 } }
}
