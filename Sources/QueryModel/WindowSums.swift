import Collector

/// Which buckets a sliding window ending at bucket `newest` covers. Buckets are numbered by their end
/// (``TimeBucket/index(ofMs:widthMs:)``), so bucket `g × size` is the last of group `g`.
public enum WindowShape: Sendable, Hashable {
    /// The newest `n` buckets: `newest − n + 1 … newest`.
    case last(Int64)
    /// From the first bucket of the group `groups − 1` groups before the newest bucket's group, through `newest`:
    /// with 10-second buckets and `size` 6, the minute under way and the one before it, however far the current
    /// one has got — the part of a long window that comes from the hot store (``MetricsReader``).
    case sinceGroup(size: Int64, groups: Int64)

    /// The buckets covered when the window ends at `newest`.
    public func range(_ newest: Int64) -> ClosedRange<Int64> {
        switch self {
        case .last(let n): return (newest - n + 1)...newest
        case .sinceGroup(let size, let groups):
            let group = TimeBucket.index(ofMs: newest, widthMs: size)
            return ((group - groups) * size + 1)...newest
        }
    }
}

/// Sums of buckets over several sliding windows that all end at the same bucket, kept exact as the buckets
/// change and time moves on.
///
/// Moving on adds the buckets that enter and subtracts the ones that leave, rather than re-merging every bucket
/// of the window: sketch bucket counts are integers, so subtraction undoes an addition exactly. The buckets are
/// the hot store's 10-second ones or the durable store's minutes (``WindowCache/Configuration``): the sums do not
/// know their width.
public struct WindowSums: Sendable {
    /// The windows summed, by key (a window's length in milliseconds), and the buckets each covers.
    public let shapes: [Int64: WindowShape]
    /// The newest bucket in every window.
    public private(set) var newest: Int64
    /// The sum of each window, by its key.
    public private(set) var sums: [Int64: WindowData]

    /// Sums given per window (`sums[key]`: the sum of `shapes[key]`'s buckets ending at `newest`).
    public init(shapes: [Int64: WindowShape], newest: Int64, sums: [Int64: WindowData]) {
        self.shapes = shapes
        self.newest = newest
        self.sums = sums
    }

    /// The oldest bucket any window holds now: changes to older buckets concern none of the sums.
    public var oldest: Int64 { shapes.values.map { $0.range(newest).lowerBound }.min() ?? newest }

    /// How a window of `shape` ending at ``newest`` moves on to end at `bucket` (> ``newest``).
    private enum Move {
        /// Past all its buckets: it is these buckets now.
        case replaced(ClosedRange<Int64>)
        /// Some buckets leave (none for a window that only grows) and some enter.
        case slid(leaving: Range<Int64>, entering: ClosedRange<Int64>)
    }

    private func move(_ shape: WindowShape, to bucket: Int64) -> Move {
        let (old, new) = (shape.range(newest), shape.range(bucket))
        if new.lowerBound > old.upperBound { return .replaced(new) }
        return .slid(
            leaving: old.lowerBound..<max(new.lowerBound, old.lowerBound),
            entering: (old.upperBound + 1)...new.upperBound)
    }

    /// The buckets whose contents ``advance(to:contents:)`` needs to move the windows to end at `bucket`.
    public func bucketsToAdvance(to bucket: Int64) -> [Int64] {
        var needed = Set<Int64>()
        for shape in shapes.values {
            switch move(shape, to: bucket) {
            case .replaced(let buckets): needed.formUnion(buckets)
            case .slid(let leaving, let entering):
                needed.formUnion(leaving)
                needed.formUnion(entering)
            }
        }
        return needed.sorted()
    }

    /// Adds one commit's cells to every window that holds their bucket.
    public mutating func apply(_ change: FeedChange) {
        // Taken out of the dictionary while they change, so each is changed in place.
        let keys = Array(shapes.keys)
        var windows = keys.map { sums.removeValue(forKey: $0) ?? WindowData() }
        change.add(to: &windows, ranges: keys.map { shapes[$0]!.range(newest) })
        for (key, window) in zip(keys, windows) { sums[key] = window }
    }

    /// Notes, per window, the request series that ``apply(_:)`` of `change` changes (called before it).
    func noteChanges(of change: FeedChange, into noted: inout [Int64: ChangedSeries]) {
        let keys = Array(shapes.keys)
        let ranges = keys.map { shapes[$0]!.range(newest) }
        var sets = keys.map { noted.removeValue(forKey: $0) ?? ChangedSeries() }
        change.forEachRequestCell { bucket, series in
            for i in ranges.indices where ranges[i].contains(bucket) && !sets[i].all { sets[i].keys.insert(series) }
        }
        for (key, set) in zip(keys, sets) where set.all || !set.keys.isEmpty { noted[key] = set }
    }

    /// Notes, per window, the request series that ``advance(to:contents:)`` with the same arguments changes (called
    /// before it): those of the buckets leaving and entering.
    func noteAdvance(to bucket: Int64, contents: [Int64: WindowData], into noted: inout [Int64: ChangedSeries]) {
        for (key, shape) in shapes {
            switch move(shape, to: bucket) {
            case .replaced: noted[key, default: ChangedSeries()].all = true
            case .slid(let leaving, let entering):
                for b in Array(leaving) + Array(entering) {
                    guard let data = contents[b], !data.requests.isEmpty else { continue }
                    noted[key, default: ChangedSeries()].keys.formUnion(data.requests.keys)
                }
            }
        }
    }

    /// Moves every window on to end at `bucket` (> ``newest``), given the contents of
    /// ``bucketsToAdvance(to:)`` as of the changes applied so far. False when a leaving bucket holds something
    /// the sum does not (the contents were not consistent with the sum): the sums are then unusable.
    public mutating func advance(to bucket: Int64, contents: [Int64: WindowData]) -> Bool {
        precondition(bucket > newest, "windows only move forward")
        for (key, shape) in shapes {
            switch move(shape, to: bucket) {
            case .replaced(let buckets): sums[key] = WindowData.sum(of: contents, in: buckets)
            case .slid(let leaving, let entering):
                for b in leaving {
                    guard let data = contents[b] else { continue }
                    guard sums[key, default: WindowData()].subtract(data) else { return false }
                }
                for b in entering {
                    if let data = contents[b] { sums[key, default: WindowData()].merge(data) }
                }
            }
        }
        newest = bucket
        return true
    }
}
