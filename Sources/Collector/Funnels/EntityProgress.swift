/// The times at which one entity did each step of a funnel: sets, so arrival order and replays do not matter.
public struct EntityProgress: Sendable, Equatable {
    /// For each step (0-based), its event times in ms, ascending, without repeats.
    public private(set) var stepTimes: [[Int64]]

    /// No steps yet, for a funnel of `steps` steps.
    public init(steps: Int) {
        stepTimes = Array(repeating: [], count: steps)
    }

    /// The progress of step times given in any order, with repeats (sorted once: recording one at a time
    /// inserts into sorted arrays, quadratic for an entity with thousands of events).
    public init(unsortedStepTimes: [[Int64]]) {
        stepTimes = unsortedStepTimes.map { times in
            var sorted = times.sorted()
            var kept = 0
            for t in sorted where kept == 0 || sorted[kept - 1] != t {
                sorted[kept] = t
                kept += 1
            }
            sorted.removeLast(sorted.count - kept)
            return sorted
        }
    }

    /// Records that the entity did step `index` at `timeMs` (idempotent).
    public mutating func record(step index: Int, at timeMs: Int64) {
        let i = Self.firstIndex(in: stepTimes[index], atLeast: timeMs)
        if i < stepTimes[index].count, stepTimes[index][i] == timeMs { return }
        // In place: a copy of the array first would copy an entity's thousands of times for every record the
        // funnel cache follows.
        stepTimes[index].insert(timeMs, at: i)
    }

    /// Forgets the step times at or before `timeMs`; true when none are left.
    public mutating func forget(atOrBefore timeMs: Int64) -> Bool {
        var empty = true
        for k in stepTimes.indices {
            let keep = Self.firstIndex(in: stepTimes[k], atLeast: timeMs + 1)
            if keep > 0 { stepTimes[k].removeFirst(keep) }
            if !stepTimes[k].isEmpty { empty = false }
        }
        return empty
    }

    /// The first index of `sorted` whose value is ≥ `value` (binary search).
    static func firstIndex(in sorted: [Int64], atLeast value: Int64) -> Int {
        var lo = 0
        var hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
