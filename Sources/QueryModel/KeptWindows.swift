import Collector
import Synchronization

/// The newest window of range queries' sliders (``WindowSlider``), kept for the next query of the same window: a
/// dashboard's refresh asks again for the range it asked seconds before, and its new steps' windows are the last
/// one moved on by a bucket or two.
///
/// The steps a refresh does not take from ``StepResults`` are its newest ones, those whose buckets changed since.
/// Each would read its whole window again (30 hot buckets of up to 10 000 series for 5 minutes: ~300 ms); here it
/// starts from the window the last query ended with, when the stamps the query polled before reading anything show
/// none of that window's older buckets changed since it was read, and reads only the buckets that enter and leave,
/// and its newest ones again when they changed.
///
/// Bounded in series (``maxCells``, ~100–500 bytes each): past it the windows used least recently go.
final class KeptWindows: Sendable {
    struct Key: Hashable, Sendable {
        var part: RangeWindows.Part.Kind
        var service: String?
        var buckets: Int64
        var contents: RangeWindows.Contents
    }

    struct Entry: Sendable {
        /// The window's newest bucket.
        var newest: Int64
        var data: WindowData
        /// What each of the newest ``KeptWindows/newestBuckets`` buckets added to `data` (absent: nothing).
        var newestContents: [Int64: WindowData]
        /// The cache's rebuild and feed position the window's buckets were read after.
        var position: StepResults.Position
        fileprivate var cells = 0
        fileprivate var used = 0
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var cells = 0
        var uses = 0
        var started = 0
    }

    /// The newest buckets of a window kept with their contents apart: live traffic still lands in them while a query
    /// reads them, and the next query takes them out of the window and reads them again rather than the whole window.
    static let newestBuckets: Int64 = 2

    /// The most series kept in all windows.
    let maxCells: Int
    private let state = Mutex(State())

    init(maxCells: Int = 60_000) {
        self.maxCells = maxCells
    }

    /// The window kept for `key`, if any.
    func entry(_ key: Key) -> Entry? {
        state.withLock { s in
            guard s.entries[key] != nil else { return nil }
            s.uses += 1
            s.entries[key]!.used = s.uses
            return s.entries[key]
        }
    }

    /// Keeps `data`, the window of `key` ending at bucket `newest`, read after `position`, with what its newest buckets
    /// added (`newestContents`); a window larger than the bound is not kept.
    func keep(
        _ key: Key, newest: Int64, data: WindowData, newestContents: [Int64: WindowData],
        position: StepResults.Position
    ) {
        var cells = 1 + data.requests.count + data.jobs.count + data.logs.count
        for c in newestContents.values { cells += c.requests.count + c.jobs.count + c.logs.count }
        guard cells <= maxCells else { return }
        state.withLock { s in
            s.uses += 1
            s.cells += cells - (s.entries[key]?.cells ?? 0)
            s.entries[key] = Entry(
                newest: newest, data: data, newestContents: newestContents, position: position, cells: cells,
                used: s.uses)
            guard s.cells > maxCells else { return }
            for (k, e) in s.entries.sorted(by: { $0.value.used < $1.value.used }) where s.cells > maxCells {
                s.entries[k] = nil
                s.cells -= e.cells
            }
        }
    }

    /// Notes that a window was moved on from a kept one.
    func noteStarted() { state.withLock { $0.started += 1 } }

    /// Windows moved on from kept ones so far (a test's view).
    var startedFromKept: Int { state.withLock { $0.started } }

    /// Series kept (a test's view).
    var keptCells: Int { state.withLock { $0.cells } }
}

/// The stamps a range query polled before reading anything (``RangeWindows/stepStamps(_:)``), for its sliders.
final class PolledStamps: Sendable {
    private let stamps = Mutex<StepResults.Stamps?>(nil)

    var value: StepResults.Stamps? {
        get { stamps.withLock { $0 } }
        set { stamps.withLock { $0 = newValue } }
    }
}
