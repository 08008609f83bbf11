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

    /// A window to render: its series whole (a ``MetricsReader/Result``), or a long window's two cached parts not
    /// summed (``MetricsReader/LongParts``).
    struct Window: Sendable {
        var cold: WindowData
        var tail: WindowData?
        /// The cold part's version: its services' sums are kept while it stays.
        var coldVersion: UInt64?
        var version: MetricsReader.Version?

        init(_ result: MetricsReader.Result) {
            cold = result.data
            version = result.version
        }

        init(_ parts: MetricsReader.LongParts) {
            cold = parts.cold.data
            tail = parts.tail.data
            coldVersion = parts.cold.version
            version = parts.version
        }

        /// The request series of both parts.
        var keys: [Dictionary<RequestKey, RequestStats>.Keys] {
            [cold.requests.keys] + (tail.map { [$0.requests.keys] } ?? [])
        }
    }

    private struct State {
        var slots: [Int64: Slot] = [:]
        /// Each long window's services summed over its cold part, with the version of that part.
        var coldServices: [Int64: (version: UInt64, sums: [String: ServiceSums])] = [:]
        var order: SeriesOrder?
        var renders = 0
        /// The counters' last render and the version of the totals it was made from.
        var counters: (version: UInt64, block: ByteBuffer)?
        var counterRenders = 0
        /// Each window's last finished render with a version, while it is kept: the next version's render starts
        /// from it (``WindowBlocks/updated(_:order:windowMs:cold:tail:changed:)``).
        var last: [Int64: (version: MetricsReader.Version, blocks: WindowBlocks)] = [:]
        var updates = 0
    }

    private let state = Mutex(State())
    /// Held while a series order is built (``order(covering:)``).
    private let orderBuild = Mutex(())
    private let counterReads = JoinedReads<ByteBuffer>()
    /// How long a finished render stays for the next scrape at the same version.
    let keepFor: Duration

    /// An empty cache keeping renders for `keepFor`.
    init(keepFor: Duration = .seconds(2)) {
        self.keepFor = keepFor
    }

    /// Windows rendered so far (a test's view of whether a scrape was served from the cache).
    var renders: Int { state.withLock { $0.renders } }

    /// Renders made from the last one by rendering only the series that changed since (of ``renders``).
    var updates: Int { state.withLock { $0.updates } }

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
            let block = await self.rendered(covering: [totals.requests.keys]) { CounterBlock.render(totals, order: $0) }
            self.state.withLock { state in
                state.counterRenders += 1
                state.counters = version.map { ($0, block) }
            }
            return block
        }
    }

    /// Counter renders so far (a test's view of whether a scrape rendered them again).
    var counterRenders: Int { state.withLock { $0.counterRenders } }

    /// `render` with a series order covering `series` (``order(covering:)``). Looked up before rendering rather
    /// than found out by the render: a window rendered with an order that missed a new series was rendered twice.
    private func rendered<T>(
        covering series: [Dictionary<RequestKey, RequestStats>.Keys], _ render: (SeriesOrder) async -> T?
    ) async -> T {
        guard let out = await render(order(covering: series)) else { preconditionFailure("an order misses its series") }
        return out
    }

    /// A series order covering every series of `needs`: the last one when it does, else the last one with the
    /// series it lacks merged in (so that the windows' and the counters' series, which differ by the series
    /// older than the longest window, do not take turns replacing each other's order). When the last one's series
    /// outnumber the needed ones twice, a new order of the needed ones only, so series gone for good do not stay
    /// forever. One build at a time: the counters' and the windows' renders of a scrape that both find a new series
    /// wait for one build rather than making two.
    func order(covering needs: [Dictionary<RequestKey, RequestStats>.Keys]) -> SeriesOrder {
        if let last = state.withLock({ $0.order }), needs.allSatisfy({ last.covers($0) }) { return last }
        return orderBuild.withLock { _ in
            let last = state.withLock { $0.order }
            if let last, needs.allSatisfy({ last.covers($0) }) { return last }
            var keys = Set<RequestKey>()
            for n in needs { keys.formUnion(n) }
            let built: SeriesOrder
            if let last, last.keys.count <= 2 * keys.count {
                built = SeriesOrder(last, adding: Array(keys.filter { last.rank[$0] == nil }))
            } else {
                built = SeriesOrder(keys: Array(keys))
            }
            state.withLock { $0.order = built }
            return built
        }
    }

    /// Whether two versions of a long window have the same cold part (the durable cache's version).
    private static func sameCold(_ a: MetricsReader.Version, _ b: MetricsReader.Version?) -> Bool {
        guard case .combined(let coldA, _) = a, case .combined(let coldB, _)? = b else { return false }
        return coldA == coldB
    }

    /// The services of `window`'s cold part summed, when it has a tail: kept per window while the part's version
    /// stays (a minute), so a render adds only the tail to them.
    private func coldServices(_ w: Int64, _ window: Window) -> [String: ServiceSums]? {
        guard window.tail != nil else { return nil }
        guard let version = window.coldVersion else { return ServiceSums.of(window.cold) }
        if let kept = state.withLock({ $0.coldServices[w] }), kept.version == version { return kept.sums }
        let sums = ServiceSums.of(window.cold)
        state.withLock { $0.coldServices[w] = (version, sums) }
        return sums
    }

    /// Which request series of window `windowMs` changed from one version of its cached reads to another, when the
    /// caches can tell (``MetricsReader/changedSeries(windowMs:from:to:)``).
    typealias Changes =
        @Sendable (_ windowMs: Int64, _ from: MetricsReader.Version, _ to: MetricsReader.Version) async
        -> ChangedSeries?

    /// The blocks of each of `windows`, in their order. A window at a new version whose last version's render is
    /// still kept, and whose changes since `changes` tells, is rendered from that render: only the series that
    /// changed are rendered again.
    func blocks(_ windows: [(Int64, Window)], quantiles: [Double], changes: Changes? = nil) async -> [WindowBlocks] {
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
        var started: [(Int, MetricsReader.Version, Task<WindowBlocks, Never>)] = []
        if !missing.isEmpty {
            // A series without a place in the last order (a new one) makes one covering all the windows to render,
            // so that they do not replace each other's order (the first render to look builds it).
            let windowKeys = missing.flatMap { windows[$0].1.keys }
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
                    let last = state.last[w]
                    let task = Task {
                        var changed: ChangedSeries? = nil
                        if let last, let version = result.version, let changes,
                            last.blocks.layout.quantiles == quantiles
                        {
                            changed = await changes(w, last.version, version)
                        }
                        return await self.rendered(covering: windowKeys) { order in
                            if let last, let changed,
                                let blocks = WindowBlocks.updated(
                                    last.blocks, order: order, windowMs: w, cold: result.cold, tail: result.tail,
                                    sameCold: Self.sameCold(last.version, result.version), changed: changed)
                            {
                                self.state.withLock { $0.updates += 1 }
                                return blocks
                            }
                            let coldServices = self.coldServices(w, result)
                            // Large windows in parts on the cores (a scrape of one window waits for its render).
                            let series = result.cold.requests.count + (result.tail?.requests.count ?? 0)
                            let parts = series >= 4_000 ? min(System.coreCount, 4) : 1
                            return await WindowBlocks.render(
                                windowMs: w, cold: result.cold, tail: result.tail, coldServices: coldServices,
                                quantiles: quantiles, order: order, parts: parts)
                        }
                    }
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
                state.last[w] = (version, blocks)
                return true
            }
            if kept {
                Task { [keepFor] in
                    try? await Task.sleep(for: keepFor)
                    // The render goes unless a newer one took its place meanwhile.
                    self.state.withLock { state in
                        if case .ready(let v, _) = state.slots[w], v == version { state.slots[w] = nil }
                        if state.last[w]?.version == version { state.last[w] = nil }
                    }
                }
            }
        }
        return out.map { $0! }
    }
}
