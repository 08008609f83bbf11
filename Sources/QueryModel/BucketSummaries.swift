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

    /// A read of some buckets under way, which other queries may wait for instead of reading them again.
    private struct Reading {
        var id: Int
        var rebuild: Int
        var asOf: UInt64
        var task: Task<[Int64: WindowData], any Error>
    }

    private struct State {
        var entries: [Int64: Entry] = [:]
        /// Per bucket, the read under way that will hold it.
        var reading: [Int64: Reading] = [:]
        var nextID = 0
        /// Buckets answered from memory (or from another query's read) and read from the store (a test's view).
        var kept = 0
        var read = 0
    }

    private let store: any MetricsStore
    private let cache: WindowCache
    private let contents: RangeWindows.Contents
    private let state = Mutex(State())

    /// What `contents` keeps of `store`'s buckets, told unchanged by `cache` (over the same store's feed).
    init(store: any MetricsStore, cache: WindowCache, contents: RangeWindows.Contents) {
        self.store = store
        self.cache = cache
        self.contents = contents
    }

    /// The buckets of `range` that hold requests, each summed per service, as a read of the store after this call
    /// would return them; nil when the cache does not track the buckets' changes (read the store).
    ///
    /// A bucket another query is reading already (the panels of a dashboard opened at once ask for the same
    /// buckets) is waited for, when that read is as of a position this call's stamp shows no later change after.
    func readEach(_ range: ClosedRange<Int64>) async throws -> [(Int64, WindowData)]? {
        guard let stamp = try await cache.bucketStamp(range) else { return nil }
        func current(_ b: Int64, rebuild: Int, asOf: UInt64) -> Bool {
            stamp.tracked.contains(b) && rebuild == stamp.rebuild && (stamp.changed[b] ?? 0) <= asOf
        }
        var found: [Int64: WindowData] = [:]
        var waits: [Int: (task: Task<[Int64: WindowData], any Error>, buckets: [Int64])] = [:]
        let own: (id: Int, task: Task<[Int64: WindowData], any Error>, buckets: ClosedRange<Int64>)? = state.withLock { s in
            var missing: ClosedRange<Int64>?
            for b in range {
                if let e = s.entries[b], current(b, rebuild: e.rebuild, asOf: e.asOf) {
                    found[b] = e.data
                } else if let r = s.reading[b], current(b, rebuild: r.rebuild, asOf: r.asOf) {
                    waits[r.id, default: (r.task, [])].buckets.append(b)
                } else {
                    missing = missing.map { $0.lowerBound...b } ?? b...b
                }
            }
            s.kept += range.count - (missing?.count ?? 0)
            s.read += missing?.count ?? 0
            guard let missing else { return nil }
            // One read from the first bucket missing to the last (the newest buckets, usually: those still written).
            let (store, contents) = (self.store, self.contents)
            let task = Task {
                let read = try await store.readEach(service: nil, buckets: missing)
                var fresh: [Int64: WindowData] = [:]
                for b in missing { fresh[b] = read[b].map(contents.kept(of:)) ?? WindowData() }
                return fresh
            }
            let id = s.nextID
            s.nextID += 1
            for b in missing { s.reading[b] = Reading(id: id, rebuild: stamp.rebuild, asOf: stamp.sequence, task: task) }
            return (id, task, missing)
        }
        if let own {
            let fresh: [Int64: WindowData]
            do {
                // Not cancelled with this query: others may be waiting for it.
                fresh = try await own.task.value
            } catch {
                state.withLock { s in for b in own.buckets where s.reading[b]?.id == own.id { s.reading[b] = nil } }
                throw error
            }
            state.withLock { s in
                for (b, data) in fresh {
                    if s.reading[b]?.id == own.id { s.reading[b] = nil }
                    guard stamp.tracked.contains(b) else { continue }
                    // A query that read the bucket after a later poll keeps its answer.
                    if let e = s.entries[b], e.rebuild == stamp.rebuild, e.asOf > stamp.sequence { continue }
                    s.entries[b] = Entry(rebuild: stamp.rebuild, asOf: stamp.sequence, data: data)
                }
                // Buckets the stamps no longer answer for, and summaries of an earlier rebuild.
                if s.entries.count > Int(WindowCache.trackedBuckets) {
                    s.entries = s.entries.filter { stamp.tracked.contains($0.key) && $0.value.rebuild == stamp.rebuild }
                }
            }
            found.merge(fresh) { _, new in new }
        }
        for (_, wait) in waits {
            let read = try await wait.task.value
            for b in wait.buckets { found[b] = read[b] ?? WindowData() }
        }
        return range.compactMap { b in
            found[b].flatMap { $0.requests.isEmpty && $0.jobs.isEmpty && $0.logs.isEmpty ? nil : (b, $0) }
        }
    }

    /// Buckets answered from memory and read from the store so far (a test's view).
    var answered: (kept: Int, read: Int) { state.withLock { ($0.kept, $0.read) } }
}
