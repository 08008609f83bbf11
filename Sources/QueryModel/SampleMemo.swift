import Collector
import PromQL
import Synchronization

/// The PromQL samples last built for one windowed family, window and quantile list, with the version of the cached
/// window they were built from (``MetricsReader/Version``).
///
/// A query over a cached window at the current time reads the window cheaply; turning its 10 000 series into
/// samples (label arrays, `Labels`, the evaluator's sort) was most of its time, repeated by every query between two
/// changes of the window. A read whose window has the version of an entry takes the entry's samples instead: the
/// same version is the same series, so the same samples. Each key keeps only its last build, and the entries are
/// bounded by their total samples (the least recently used go first).
final class SampleMemo: Sendable {
    /// What one entry is the samples of.
    struct Key: Hashable, Sendable {
        var name: String
        var windowMs: Int64
        var quantiles: [Double]
    }

    /// One build: its samples in label order and the labels every sample has with the same value.
    struct Entry: Sendable {
        var samples: [Sample]
        /// Labels every sample has with the same value (possibly not all of them).
        var constantLabels: [String: String]
        /// The order of the request series the samples were built in (``RequestSamples``), for the next build.
        var order: [RequestKey]? = nil

        /// An entry of samples built by ``RequestSamples``, with labels known to be common to them all.
        init(_ built: RequestSamples.Built, constantLabels: [String: String]) {
            self.samples = built.samples
            self.constantLabels = constantLabels
            self.order = built.order
        }

        /// Builds an entry, finding the labels common to all `samples`.
        init(samples: [Sample]) {
            self.samples = samples
            // Removed in place: the labels that vary go within the first samples, and a filtered copy of the rest per
            // sample would be 10 000 dictionaries a build.
            var common = samples.first?.labels.dictionary ?? [:]
            for sample in samples.dropFirst() where !common.isEmpty {
                for (name, value) in common where sample.labels[name] != value { common[name] = nil }
            }
            self.constantLabels = common
        }

        /// Whether every sample of the entry satisfies `matcher`, so it need not be applied.
        func alwaysSatisfies(_ matcher: LabelMatcher) -> Bool {
            matcher.op == .equal && !matcher.value.isEmpty && constantLabels[matcher.name] == matcher.value
        }
    }

    private struct State {
        var entries: [Key: (version: MetricsReader.Version, entry: Entry, lastUse: UInt64)] = [:]
        var uses: UInt64 = 0
        var builds = 0
    }

    /// Most samples kept over all entries (~250 bytes each).
    let maxSamples: Int
    private let state = Mutex(State())

    /// An empty memo keeping at most `maxSamples` samples.
    init(maxSamples: Int = 200_000) {
        self.maxSamples = maxSamples
    }

    /// The entry of `key` if it was built from `version`.
    func entry(_ key: Key, version: MetricsReader.Version) -> Entry? {
        state.withLock { state in
            guard let hit = state.entries[key], hit.version == version else { return nil }
            state.uses += 1
            state.entries[key]?.lastUse = state.uses
            return hit.entry
        }
    }

    /// The request series order of `key`'s last build, whatever its version.
    func lastOrder(_ key: Key) -> [RequestKey]? {
        state.withLock { $0.entries[key]?.entry.order }
    }

    /// Keeps `entry`, built from `version`, as `key`'s last build, replacing the one before and dropping the least recently used others
    /// while the samples kept exceed ``maxSamples``.
    func store(_ entry: Entry, for key: Key, version: MetricsReader.Version) {
        guard entry.samples.count <= maxSamples else { return }
        // The entries replaced are released after the lock: freeing 10 000 samples is no work to do under it.
        _ = state.withLock { state -> [Entry] in
            state.uses += 1
            var dropped = state.entries.updateValue((version, entry, state.uses), forKey: key).map { [$0.entry] } ?? []
            var total = state.entries.values.reduce(0) { $0 + $1.entry.samples.count }
            while total > maxSamples, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                total -= oldest.value.entry.samples.count
                dropped.append(oldest.value.entry)
                state.entries[oldest.key] = nil
            }
            return dropped
        }
    }

    /// Counts one build of samples in place of the memo (``builds``).
    func noteBuild() { state.withLock { $0.builds += 1 } }

    /// Builds counted so far (a test's view of whether a read was served from the memo).
    var builds: Int { state.withLock { $0.builds } }

    /// Keys kept.
    var keys: Set<Key> { state.withLock { Set($0.entries.keys) } }
}
