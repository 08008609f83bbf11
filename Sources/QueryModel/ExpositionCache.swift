import Collector
import NIOCore
import Synchronization

/// The rendered windowed families of `/metrics` per window, kept by the version of the cached window they were
/// rendered from (``MetricsReader/Result/version``), and the label order of the request series.
///
/// A window at the same version holds the same series, so its lines are the same bytes: a scrape takes them instead
/// of rendering 10 000 series again, and concurrent scrapes that find a window at a version not yet rendered share
/// one render (single flight). A read without a version (a direct store read) is rendered and not kept. Each window
/// keeps only its last render, and only for ``keepFor`` after it was made: about 40 MB at 10 000 series over the six
/// default windows, which a Prometheus scraping every 15 s would otherwise hold between scrapes for nothing (under
/// ingest the windows change in between), against the 300 MB of SPEC §11.
final class ExpositionCache: Sendable {
    private enum Slot {
        case ready(MetricsReader.Version, WindowBlocks)
        case rendering(MetricsReader.Version, Task<WindowBlocks, Never>)
    }

    private struct State {
        var slots: [Int64: Slot] = [:]
        var order: SeriesOrder?
        var renders = 0
        /// The counters' last render and the version of the totals it was made from.
        var counters: (version: UInt64, block: ByteBuffer)?
        var counterRenders = 0
    }

    private let state = Mutex(State())
    private let counterReads = JoinedReads<ByteBuffer>()
    /// How long a finished render stays for the next scrape at the same version.
    let keepFor: Duration

    /// An empty cache keeping renders for `keepFor`.
    init(keepFor: Duration = .seconds(2)) {
        self.keepFor = keepFor
    }

    /// Windows rendered so far (a test's view of whether a scrape was served from the cache).
    var renders: Int { state.withLock { $0.renders } }

    /// Finished renders kept now.
    var kept: Int {
        state.withLock { state in
            state.slots.values.reduce(0) { n, slot in
                if case .ready = slot { n + 1 } else { n }
            }
        }
    }

    /// The counter families (``CounterBlock``) of the running totals as `read` reads them, from a read that started
    /// after this call; concurrent scrapes share one read and render. Totals with a version (the hot cache's) are
    /// rendered once per version: the last render is kept (~3 MB at 10 000 series) and taken while the version
    /// stays.
    func counters(_ read: @escaping @Sendable () async throws -> (data: WindowData, version: UInt64?)) async throws
        -> ByteBuffer
    {
        try await counterReads.read {
            let (totals, version) = try await read()
            if let version, let kept = self.state.withLock({ $0.counters }), kept.version == version {
                return kept.block
            }
            let block = CounterBlock.render(totals, order: self.order(covering: [totals.requests.keys]))
            self.state.withLock { state in
                state.counterRenders += 1
                state.counters = version.map { ($0, block) }
            }
            return block
        }
    }

    /// Counter renders so far (a test's view of whether a scrape rendered them again).
    var counterRenders: Int { state.withLock { $0.counterRenders } }

    /// A series order covering every series of `needs`: the last one when it does, else a new one over those
    /// series and the last one's (so that the windows' and the counters' series, which differ by the series
    /// older than the longest window, do not take turns replacing each other's order). The last one's series
    /// are left out when they outnumber the needed ones twice, so series gone for good do not stay forever.
    func order(covering needs: [Dictionary<RequestKey, RequestStats>.Keys]) -> SeriesOrder {
        let last = state.withLock { $0.order }
        if let last, needs.allSatisfy({ last.covers($0) }) { return last }
        var keys = Set<RequestKey>()
        for n in needs { keys.formUnion(n) }
        if let last, last.keys.count <= 2 * keys.count { keys.formUnion(last.keys) }
        let built = SeriesOrder(keys: Array(keys))
        state.withLock { $0.order = built }
        return built
    }

    /// The blocks of each of `windows`, in their order.
    func blocks(_ windows: [(Int64, MetricsReader.Result)], quantiles: [Double]) async -> [WindowBlocks] {
        var out = [WindowBlocks?](repeating: nil, count: windows.count)
        var waits: [(Int, Task<WindowBlocks, Never>)] = []
        var missing: [Int] = []
        state.withLock { state in
            for (i, (w, result)) in windows.enumerated() {
                switch (state.slots[w], result.version) {
                case (.ready(let v, let blocks), let version?) where v == version: out[i] = blocks
                case (.rendering(let v, let task), let version?) where v == version: waits.append((i, task))
                default: missing.append(i)
                }
            }
        }
        // One order for every window to render, sorted only when a series has no place yet.
        let order = missing.isEmpty ? nil : self.order(covering: missing.map { windows[$0].1.data.requests.keys })
        var started: [(Int, MetricsReader.Version, Task<WindowBlocks, Never>)] = []
        if let order {
            state.withLock { state in
                for i in missing {
                    let (w, result) = windows[i]
                    // Another scrape may have started this version meanwhile.
                    if let version = result.version {
                        switch state.slots[w] {
                        case .ready(let v, let blocks) where v == version:
                            out[i] = blocks
                            continue
                        case .rendering(let v, let task) where v == version:
                            waits.append((i, task))
                            continue
                        default: break
                        }
                    }
                    let task = Task { WindowBlocks(windowMs: w, data: result.data, quantiles: quantiles, order: order) }
                    state.renders += 1
                    if let version = result.version {
                        state.slots[w] = .rendering(version, task)
                        started.append((i, version, task))
                    } else {
                        waits.append((i, task))
                    }
                }
            }
        }
        for (i, task) in waits { out[i] = await task.value }
        for (i, version, task) in started {
            let blocks = await task.value
            out[i] = blocks
            let w = windows[i].0
            let kept = state.withLock { state in
                guard case .rendering(let v, let t) = state.slots[w], v == version, t == task else { return false }
                state.slots[w] = .ready(version, blocks)
                return true
            }
            if kept {
                Task { [keepFor] in
                    try? await Task.sleep(for: keepFor)
                    // The render goes unless a newer one took its place meanwhile.
                    self.state.withLock { state in
                        if case .ready(let v, _) = state.slots[w], v == version { state.slots[w] = nil }
                    }
                }
            }
        }
        return out.map { $0! }
    }
}
