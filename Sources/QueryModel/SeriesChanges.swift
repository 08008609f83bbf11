import Collector

/// Which request series of a window changed between two versions of a ``WindowCache``: those of ``keys``, or any
/// when ``all``. A series not named did not change (jobs and logs are not followed).
struct ChangedSeries: Sendable, Equatable {
    /// Any series may have changed (the window was read again, or moved past all its buckets).
    var all = false
    /// The series that changed (when not ``all``).
    var keys = Set<RequestKey>()

    /// The changes of both.
    mutating func formUnion(_ other: ChangedSeries) {
        if other.all { all = true }
        if all {
            keys = []
        } else {
            keys.formUnion(other.keys)
        }
    }
}

/// The request series each version of a ``WindowCache`` changed, per window, over its last versions: what lets a
/// render of a window redo only the series that changed since its last render (``ExpositionCache``), rather than
/// all 10 000 at every version.
///
/// Kept only while someone asks (``WindowCache/changedSeries(_:after:through:)``), and bounded: past ``maxKeys``
/// series noted or ``maxEntries`` versions, the oldest versions are forgotten, and a question reaching back to them
/// gets no answer (the reader renders everything, as without the log).
struct SeriesChangeLog: Sendable {
    /// The version after which every change is noted; nil while not noting.
    private(set) var since: UInt64?
    private var entries: [(version: UInt64, windows: [Int64: ChangedSeries])] = []
    private var keyCount = 0
    static let maxKeys = 200_000
    static let maxEntries = 512

    /// Notes the changes of the versions after `version` on, forgetting any before.
    mutating func start(after version: UInt64) {
        since = version
        entries = []
        keyCount = 0
    }

    /// Stops noting, and forgets.
    mutating func stop() {
        since = nil
        entries = []
        keyCount = 0
    }

    /// Notes what version `version` (the next after the last one noted) changed, per window.
    mutating func append(version: UInt64, _ windows: [Int64: ChangedSeries]) {
        guard since != nil else { return }
        entries.append((version, windows))
        keyCount += windows.values.reduce(0) { $0 + $1.keys.count }
        var drop = 0
        while drop < entries.count - 1, keyCount > Self.maxKeys || entries.count - drop > Self.maxEntries {
            keyCount -= entries[drop].windows.values.reduce(0) { $0 + $1.keys.count }
            since = entries[drop].version
            drop += 1
        }
        entries.removeFirst(drop)
    }

    /// What changed in window `window` in the versions after `from` through `to`; nil when not all of them were
    /// noted.
    func changed(_ window: Int64, after from: UInt64, through to: UInt64) -> ChangedSeries? {
        guard let since, from >= since, from <= to else { return nil }
        var out = ChangedSeries()
        for e in entries where e.version > from && e.version <= to {
            if let c = e.windows[window] { out.formUnion(c) }
        }
        return out
    }
}
