import Collector
import Synchronization

/// What range queries keep of each bucket (``RangeWindows/Contents``: services' sums, job series, one service's
/// series), kept from one range query to the next for as long as the store's change feed shows the bucket unchanged.
///
/// The console's and Grafana's charts are range queries, and each step's window is made of every series of every
/// bucket in the range: at 10 000 series an hour of 5-minute windows is ~390 buckets read and parsed (~1.5 s) for the
/// services' sums, for every panel of a dashboard and at every refresh, though all but the newest buckets hold what
/// they held a minute before. Here a bucket read once is kept reduced to what the charts are made of, with the feed
/// position of a poll made before the read (``WindowCache/bucketStamp(_:)``); a later query answers it from memory
/// when no change to that bucket was committed after that position and the cache over the feed has not been rebuilt
/// since (a gap in the feed, a store that lost its data): exactly what reading the bucket again would return.
///
/// Memory is bounded in series-buckets (``maxCells``): past it, the buckets used least recently go.
final class BucketSummaries: Sendable {
    private struct Key: Hashable {
        var service: String?
        var bucket: Int64
    }

    private struct Entry {
        /// The cache's rebuild the stamp was of.
        var rebuild: Int
        /// The feed position the bucket was read after: it holds every change up to it.
        var asOf: UInt64
        var data: WindowData
        var cells: Int
        /// When a query last used it (``State/uses``).
        var used: Int
    }

    /// A read of some buckets under way, which other queries may wait for instead of reading them again.
    private struct Reading {
        var id: Int
        var rebuild: Int
        var asOf: UInt64
        var task: Task<[Int64: WindowData], any Error>
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var cells = 0
        /// Per bucket, the read under way that will hold it.
        var reading: [Key: Reading] = [:]
        var nextID = 0
        var uses = 0
        /// Buckets answered from memory (or from another query's read) and read from the store (a test's view).
        var kept = 0
        var read = 0
    }

    private let store: any MetricsStore
    private let cache: WindowCache
    private let contents: RangeWindows.Contents
    /// The most series-buckets kept (~100–300 bytes each).
    let maxCells: Int
    private let state = Mutex(State())

    /// What `contents` keeps of `store`'s buckets, told unchanged by `cache` (over the same store's feed).
    init(store: any MetricsStore, cache: WindowCache, contents: RangeWindows.Contents, maxCells: Int = 150_000) {
        self.store = store
        self.cache = cache
        self.contents = contents
        self.maxCells = maxCells
    }

    /// The buckets of `range` of `service` (nil: all) that hold data, each reduced to what ``contents`` keeps, as a
    /// read of the store after this call would return them; nil when the cache does not track the buckets' changes
    /// (read the store).
    ///
    /// A bucket another query is reading already (the panels of a dashboard opened at once ask for the same
    /// buckets) is waited for, when that read is as of a position this call's stamp shows no later change after.
    func readEach(service: String?, _ range: ClosedRange<Int64>) async throws -> [(Int64, WindowData)]? {
        guard let stamp = try await cache.bucketStamp(range) else { return nil }
        func current(_ b: Int64, rebuild: Int, asOf: UInt64) -> Bool {
            stamp.tracked.contains(b) && rebuild == stamp.rebuild && (stamp.changed[b] ?? 0) <= asOf
        }
        var found: [Int64: WindowData] = [:]
        var waits: [Int: (task: Task<[Int64: WindowData], any Error>, buckets: [Int64])] = [:]
        let own: (id: Int, task: Task<[Int64: WindowData], any Error>, buckets: ClosedRange<Int64>)? = state.withLock {
            s in
            s.uses += 1
            var missing: ClosedRange<Int64>?
            for b in range {
                let key = Key(service: service, bucket: b)
                if let e = s.entries[key], current(b, rebuild: e.rebuild, asOf: e.asOf) {
                    found[b] = e.data
                    s.entries[key]!.used = s.uses
                } else if let r = s.reading[key], current(b, rebuild: r.rebuild, asOf: r.asOf) {
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
                let read = try await store.readEach(service: service, buckets: missing)
                var fresh: [Int64: WindowData] = [:]
                for b in missing { fresh[b] = read[b].map(contents.kept(of:)) ?? WindowData() }
                return fresh
            }
            let id = s.nextID
            s.nextID += 1
            for b in missing {
                s.reading[Key(service: service, bucket: b)] = Reading(
                    id: id, rebuild: stamp.rebuild, asOf: stamp.sequence, task: task)
            }
            return (id, task, missing)
        }
        if let own {
            let fresh: [Int64: WindowData]
            do {
                // Not cancelled with this query: others may be waiting for it.
                fresh = try await own.task.value
            } catch {
                state.withLock { s in
                    for b in own.buckets where s.reading[Key(service: service, bucket: b)]?.id == own.id {
                        s.reading[Key(service: service, bucket: b)] = nil
                    }
                }
                throw error
            }
            state.withLock { s in keep(fresh, of: service, readBy: own.id, stamp: stamp, in: &s) }
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

    /// Keeps what read `id` returned, and lets the least recently used buckets go past ``maxCells``.
    private func keep(
        _ fresh: [Int64: WindowData], of service: String?, readBy id: Int, stamp: WindowCache.BucketStamp,
        in s: inout State
    ) {
        for (b, data) in fresh {
            let key = Key(service: service, bucket: b)
            if s.reading[key]?.id == id { s.reading[key] = nil }
            guard stamp.tracked.contains(b) else { continue }
            // A query that read the bucket after a later poll keeps its answer.
            if let e = s.entries[key], e.rebuild == stamp.rebuild, e.asOf > stamp.sequence { continue }
            let cells = 1 + data.requests.count + data.jobs.count + data.logs.count
            s.cells += cells - (s.entries[key]?.cells ?? 0)
            s.entries[key] = Entry(rebuild: stamp.rebuild, asOf: stamp.sequence, data: data, cells: cells, used: s.uses)
        }
        guard s.cells > maxCells else { return }
        // Buckets the stamps no longer answer for and those of an earlier rebuild first, then the least recently used,
        // down to three quarters of the bound (not one eviction per read).
        let order = s.entries.sorted { a, b in
            let (staleA, staleB) = (
                !stamp.tracked.contains(a.key.bucket) || a.value.rebuild != stamp.rebuild,
                !stamp.tracked.contains(b.key.bucket) || b.value.rebuild != stamp.rebuild
            )
            return staleA != staleB ? staleA : a.value.used < b.value.used
        }
        for (key, entry) in order where s.cells > maxCells * 3 / 4 {
            s.entries[key] = nil
            s.cells -= entry.cells
        }
    }

    /// Buckets answered from memory and read from the store so far (a test's view).
    var answered: (kept: Int, read: Int) { state.withLock { ($0.kept, $0.read) } }

    /// Series-buckets kept (a test's view).
    var keptCells: Int { state.withLock { $0.cells } }
}
