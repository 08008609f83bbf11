import Collector
import PromQL
import Synchronization

/// The results of range queries' steps, kept from one query to the next for as long as every bucket a step's windows
/// were summed from is unchanged.
///
/// A chart of a per-series shape (`max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})`)
/// computes, at every step, a quantile of each of 10 000 series: 2.4 million for an hour at 15-second steps, seconds
/// of CPU however the windows are read. A dashboard asks it again at every refresh, and a step whose buckets no event
/// reached since gives the same answer again. So each step's result is kept with the buckets its windows were made of
/// (``RangeWindows/layout(windowMs:at:)``) and the feed positions of polls of the hot and the durable caches made
/// before anything of the query was read (``WindowCache/bucketStamp(_:)``); a later query's step uses it when it
/// would read the same buckets, the caches were not rebuilt since (a feed gap, a store that lost its data), and their
/// stamps show no change to any of those buckets after those positions: exactly what evaluating the step again would
/// return. A step that read anything else (the counters, the self-metrics, the funnels, a window read directly) is
/// not kept.
///
/// Bounded in samples (``maxSamples``); a step with more than ``maxStepSamples`` (a chart of every series) is not
/// kept; past the bound the results used least recently go.
final class StepResults: Sendable {
    struct Key: Hashable, Sendable {
        /// The expression's canonical text.
        var query: String
        var timeMs: Int64
    }

    /// What a range query's steps are checked against, polled before its first step was evaluated: the hot and the
    /// durable caches' stamps (nil: not tracked, nothing kept) over the buckets its steps may read.
    struct Stamps: Sendable {
        var hot: WindowCache.BucketStamp?
        var durable: WindowCache.BucketStamp?
        /// The buckets the stamps tell about.
        var hotBuckets: ClosedRange<Int64>
        var durableBuckets: ClosedRange<Int64>

        /// The rebuild and feed position of the durable (`durable`) or the hot cache's stamp: what something read
        /// after the poll is as of.
        func position(durable: Bool) -> Position? {
            (durable ? self.durable : hot).map { Position(rebuild: $0.rebuild, asOf: $0.sequence) }
        }

        /// Whether `buckets` of the durable store (`durable`) or the hot one, read as of `position`, still hold what
        /// they held: within what the stamps tell about and tracked by them, the cache not rebuilt, and no change to
        /// any of them noted after the position.
        func unchanged(_ buckets: ClosedRange<Int64>, durable: Bool, since position: Position?) -> Bool {
            let (stamp, told) = durable ? (self.durable, durableBuckets) : (hot, hotBuckets)
            guard let stamp, let position, stamp.rebuild == position.rebuild,
                told.contains(buckets.lowerBound), told.contains(buckets.upperBound),
                stamp.tracked.contains(buckets.lowerBound), stamp.tracked.contains(buckets.upperBound)
            else { return false }
            if stamp.changed.count < buckets.count {
                for (b, at) in stamp.changed where at > position.asOf && buckets.contains(b) { return false }
            } else {
                for b in buckets where (stamp.changed[b] ?? 0) > position.asOf { return false }
            }
            return true
        }
    }

    /// A cache's rebuild and a feed position of it.
    struct Position: Sendable, Equatable {
        var rebuild: Int
        var asOf: UInt64
    }

    /// What one step read: per window, the buckets its sum was made of; nil once it read something else.
    final class Reads: Sendable {
        private let windows = Mutex<[Int64: [RangeWindows.Part]]?>([:])

        /// Notes that window `windowMs` was summed from `parts`.
        func note(windowMs: Int64, parts: [RangeWindows.Part]) {
            windows.withLock { $0?[windowMs] = parts }
        }

        /// Notes a read the step's result cannot be checked against (it is not kept).
        func noteUnchecked() { windows.withLock { $0 = nil } }

        var noted: [Int64: [RangeWindows.Part]]? { windows.withLock { $0 } }
    }

    private struct Entry {
        var samples: [Sample]
        var windows: [Int64: [RangeWindows.Part]]
        /// The stamps' rebuilds and positions the step is as of.
        var hot: Position?
        var durable: Position?
        var used: Int
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var samples = 0
        var uses = 0
        /// Steps answered from memory, and steps asked for that were not (a test's view).
        var kept = 0
        var missed = 0
        /// Steps being evaluated, with the queries waiting for them (``claim(_:)``).
        var evaluating: [Key: [CheckedContinuation<Void, Never>]] = [:]
        /// Steps a query waited for another to evaluate (a test's view).
        var waited = 0
    }

    /// The most samples kept in all.
    let maxSamples: Int
    /// The most samples of one step kept.
    let maxStepSamples: Int
    private let state = Mutex(State())

    init(maxSamples: Int = 100_000, maxStepSamples: Int = 1_000) {
        self.maxSamples = maxSamples
        self.maxStepSamples = maxStepSamples
    }

    /// The kept result of `key`, when still what evaluating it would give: every window it read would be read from
    /// the same buckets now (`layout`), and `stamps` show none of them changed since.
    func result(
        _ key: Key, stamps: Stamps, layout: (_ windowMs: Int64) -> [RangeWindows.Part]?
    ) -> [Sample]? {
        state.withLock { s in
            guard let entry = s.entries[key] else {
                s.missed += 1
                return nil
            }
            guard
                Self.unchanged(
                    entry.windows, hot: entry.hot, durable: entry.durable, stamps: stamps, layout: layout)
            else {
                s.entries[key] = nil
                s.samples -= entry.samples.count
                s.missed += 1
                return nil
            }
            s.uses += 1
            s.kept += 1
            s.entries[key]!.used = s.uses
            return entry.samples
        }
    }

    /// Keeps `samples` as the result of `key`, evaluated from `reads` after `stamps` were polled.
    func keep(
        _ key: Key, samples: [Sample], reads: Reads, stamps: Stamps, layout: (_ windowMs: Int64) -> [RangeWindows.Part]?
    ) {
        guard samples.count <= maxStepSamples, let windows = reads.noted else { return }
        let (hot, durable) = (stamps.position(durable: false), stamps.position(durable: true))
        // Only buckets the stamps tracked when the query began can be told unchanged later.
        guard Self.unchanged(windows, hot: hot, durable: durable, stamps: stamps, layout: layout) else { return }
        state.withLock { s in
            s.uses += 1
            s.samples += samples.count - (s.entries[key]?.samples.count ?? 0)
            s.entries[key] = Entry(samples: samples, windows: windows, hot: hot, durable: durable, used: s.uses)
            guard s.samples > maxSamples else { return }
            // The least recently used go, down to three quarters of the bound (not one eviction per step).
            for (k, e) in s.entries.sorted(by: { $0.value.used < $1.value.used }) where s.samples > maxSamples * 3 / 4 {
                s.entries[k] = nil
                s.samples -= e.samples.count
            }
        }
    }

    /// Whether `windows`, read as of `hot` and `durable`, are still what they were: each laid out on the same buckets
    /// now, and none of those changed since (``Stamps/unchanged(_:durable:since:)``).
    private static func unchanged(
        _ windows: [Int64: [RangeWindows.Part]], hot: Position?, durable: Position?, stamps: Stamps,
        layout: (_ windowMs: Int64) -> [RangeWindows.Part]?
    ) -> Bool {
        windows.allSatisfy { windowMs, parts in
            layout(windowMs) == parts
                && parts.allSatisfy { part in
                    stamps.unchanged(part.buckets, durable: part.isDurable, since: part.isDurable ? durable : hot)
                }
        }
    }

    /// The evaluation of one step by one query: others asking for the step meanwhile wait for it (``claim(_:)``), and
    /// are let go when the claim is gone (its result kept, or the evaluation failed or was cancelled).
    final class Claim: Sendable {
        private let key: Key
        private let results: StepResults

        fileprivate init(_ key: Key, _ results: StepResults) {
            self.key = key
            self.results = results
        }

        deinit {
            let waiting = results.state.withLock { $0.evaluating.removeValue(forKey: key) } ?? []
            for query in waiting { query.resume() }
        }
    }

    /// The claim to evaluate step `key`; nil after waiting while another query evaluated it (look its result up
    /// again). Panels and clients that ask for the same chart at once compute each step once, not once each. A claim
    /// is held only while its step is evaluated, never while waiting, so no two queries wait for each other.
    func claim(_ key: Key) async -> Claim? {
        let free = state.withLock { s in
            guard s.evaluating[key] == nil else { return false }
            s.evaluating[key] = []
            return true
        }
        if free { return Claim(key, self) }
        await withCheckedContinuation { (query: CheckedContinuation<Void, Never>) in
            let released = state.withLock { s in
                guard s.evaluating[key] != nil else { return true }
                s.evaluating[key]!.append(query)
                s.waited += 1
                return false
            }
            if released { query.resume() }
        }
        return nil
    }

    /// Steps a query waited for another to evaluate (a test's view).
    var waited: Int { state.withLock { $0.waited } }

    /// Steps answered from memory and steps that were not (a test's view).
    var answered: (kept: Int, missed: Int) { state.withLock { ($0.kept, $0.missed) } }

    /// Samples kept (a test's view).
    var keptSamples: Int { state.withLock { $0.samples } }
}
