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
        var constantLabels: [String: String]
        /// For a per-series request family: the series (and quantile) of each sample, and how many series they are.
        var sources: [Source]?
        var seriesCount = 0

        /// Where a sample's value comes from.
        struct Source: Sendable {
            var key: RequestKey
            var quantile: Double?
        }

        /// Builds an entry, finding the labels common to all `samples`.
        init(samples: [Sample]) {
            self.samples = samples
            var common = samples.first?.labels.dictionary ?? [:]
            for sample in samples.dropFirst() where !common.isEmpty {
                common = common.filter { sample.labels[$0.key] == $0.value }
            }
            self.constantLabels = common
        }

        /// Notes each sample's series, for a per-series request family `name` built with `quantiles`; left without
        /// sources (so never refreshed) when a sample does not name its series.
        mutating func noteSources(family name: String, quantiles: [Double]) {
            guard WindowFamilies.perSeriesRequestFamilies.contains(name) else { return }
            let byText = Dictionary(quantiles.map { (PrometheusText.format($0), $0) }, uniquingKeysWith: { a, _ in a })
            var out: [Source] = []
            out.reserveCapacity(samples.count)
            var keys = Set<RequestKey>()
            for sample in samples {
                guard let service = sample.labels["service"], let route = sample.labels["route"],
                    let method = sample.labels["method"]
                else { return }
                var quantile: Double?
                if name == "opsight_request_latency_seconds" {
                    guard let text = sample.labels["quantile"], let q = byText[text] else { return }
                    quantile = q
                }
                let key = RequestKey(service: service, route: route, method: method)
                keys.insert(key)
                out.append(Source(key: key, quantile: quantile))
            }
            sources = out
            seriesCount = keys.count
        }

        /// The same samples with their values from `data`, when `data` holds exactly the series they were built from:
        /// the labels (and so the order) stay, and a build becomes a pass over numbers. Nil otherwise.
        func refreshed(family name: String, windowMs: Int64, data: WindowData) -> Entry? {
            guard let sources, data.requests.count == seriesCount else { return nil }
            var next = self
            for i in next.samples.indices {
                guard let stats = data.requests[sources[i].key],
                    let value = WindowFamilies.requestValue(name, stats, windowMs: windowMs, quantile: sources[i].quantile)
                else { return nil }
                next.samples[i].value = value
            }
            return next
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
        var refreshes = 0
    }

    /// Most samples kept over all entries (~250 bytes each).
    let maxSamples: Int
    private let state = Mutex(State())

    /// An empty memo keeping at most `maxSamples` samples.
    init(maxSamples: Int = 200_000) {
        self.maxSamples = maxSamples
    }

    /// The last entry of `key`, whatever version it was built from.
    func latest(_ key: Key) -> Entry? { state.withLock { $0.entries[key]?.entry } }

    /// The entry of `key` if it was built from `version`.
    func entry(_ key: Key, version: MetricsReader.Version) -> Entry? {
        state.withLock { state in
            guard let hit = state.entries[key], hit.version == version else { return nil }
            state.uses += 1
            state.entries[key]?.lastUse = state.uses
            return hit.entry
        }
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

    /// Counts one build of samples in place of the memo (``builds``); `refreshed` when it only recomputed the values of
    /// the last build's samples (``refreshes``).
    func noteBuild(refreshed: Bool = false) {
        state.withLock {
            $0.builds += 1
            if refreshed { $0.refreshes += 1 }
        }
    }

    /// Builds that only recomputed values so far.
    var refreshes: Int { state.withLock { $0.refreshes } }

    /// Builds counted so far (a test's view of whether a read was served from the memo).
    var builds: Int { state.withLock { $0.builds } }

    /// Keys kept.
    var keys: Set<Key> { state.withLock { Set($0.entries.keys) } }
}
