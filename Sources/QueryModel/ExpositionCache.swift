import Collector
import Synchronization

/// The rendered windowed families of `/metrics` per window, kept by the version of the cached window they were
/// rendered from (``MetricsReader/Result/version``), and the label order of the request series.
///
/// A window at the same version holds the same series, so its lines are the same bytes: a scrape takes them instead
/// of rendering 10 000 series again, and concurrent scrapes that find a window at a version not yet rendered share
/// one render (single flight). A read without a version (a direct store read) is rendered and not kept. Each window
/// keeps only its last render: about 40 MB at 10 000 series over the six default windows.
final class ExpositionCache: Sendable {
    private enum Slot {
        case ready(MetricsReader.Version, WindowBlocks)
        case rendering(MetricsReader.Version, Task<WindowBlocks, Never>)
    }

    private struct State {
        var slots: [Int64: Slot] = [:]
        var order: SeriesOrder?
        var renders = 0
    }

    private let state = Mutex(State())

    /// An empty cache.
    init() {}

    /// Windows rendered so far (a test's view of whether a scrape was served from the cache).
    var renders: Int { state.withLock { $0.renders } }

    /// The blocks of each of `windows` (in their order) and a series order covering `totals`' request series.
    func blocks(
        _ windows: [(Int64, MetricsReader.Result)], quantiles: [Double], totals: WindowData?
    ) async -> (blocks: [WindowBlocks], order: SeriesOrder?) {
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
        // One order for every window to render and the counters, sorted only when a series has no place yet.
        var order = state.withLock { $0.order }
        let needs = missing.map { windows[$0].1.data.requests.keys } + (totals.map { [$0.requests.keys] } ?? [])
        if !needs.allSatisfy({ order?.covers($0) ?? false }) {
            var keys = Set<RequestKey>()
            for n in needs { keys.formUnion(n) }
            let built = SeriesOrder(keys: Array(keys))
            state.withLock { $0.order = built }
            order = built
        }
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
            state.withLock { state in
                if case .rendering(let v, let t) = state.slots[windows[i].0], v == version, t == task {
                    state.slots[windows[i].0] = .ready(version, blocks)
                }
            }
        }
        return (out.map { $0! }, order)
    }
}
