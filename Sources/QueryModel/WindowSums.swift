import Collector

/// Sums of hot buckets over several sliding windows that all end at the same bucket, kept exact as the
/// buckets change and time moves on.
///
/// A window of `n` buckets ending at bucket `newest` is the buckets `newest − n + 1 … newest`. Moving on adds
/// the buckets that enter and subtracts the ones that leave, rather than re-merging every bucket of the
/// window: sketch bucket counts are integers, so subtraction undoes an addition exactly.
public struct WindowSums: Sendable {
    /// The windows summed, in milliseconds (multiples of the hot bucket width).
    public let windowsMs: [Int64]
    /// The newest bucket in every window.
    public private(set) var newest: Int64
    /// The sum of each window, by its length in milliseconds.
    public private(set) var sums: [Int64: WindowData]

    /// Sums built from `contents` (absent buckets are empty), the windows ending at bucket `newest`.
    public init(windowsMs: [Int64], newest: Int64, contents: [Int64: WindowData]) {
        self.windowsMs = windowsMs
        self.newest = newest
        self.sums = [:]
        for w in windowsMs { sums[w] = Self.sum(contents, Self.range(w, newest)) }
    }

    /// Every bucket some window ending at `newest` covers.
    public static func buckets(windowsMs: [Int64], newest: Int64) -> [Int64] {
        let longest = windowsMs.max() ?? 0
        return Array(range(longest, newest))
    }

    /// The buckets whose contents ``advance(to:contents:)`` needs to move the windows to end at `bucket`.
    public func bucketsToAdvance(to bucket: Int64) -> [Int64] {
        var needed = Set<Int64>()
        for w in windowsMs {
            let n = Self.span(w)
            if bucket - newest >= n {
                needed.formUnion(Self.range(w, bucket))
            } else {
                needed.formUnion((newest - n + 1)...(bucket - n))  // leaving
                needed.formUnion((newest + 1)...bucket)  // entering
            }
        }
        return needed.sorted()
    }

    /// Adds one commit's cells (by bucket) to every window that holds their bucket.
    public mutating func apply(_ change: [Int64: WindowData]) {
        for w in windowsMs {
            let r = Self.range(w, newest)
            for (bucket, data) in change where r.contains(bucket) { sums[w, default: WindowData()].merge(data) }
        }
    }

    /// Moves every window on to end at `bucket` (> ``newest``), given the contents of
    /// ``bucketsToAdvance(to:)`` as of the changes applied so far. False when a leaving bucket holds something
    /// the sum does not (the contents were not consistent with the sum): the sums are then unusable.
    public mutating func advance(to bucket: Int64, contents: [Int64: WindowData]) -> Bool {
        precondition(bucket > newest, "windows only move forward")
        for w in windowsMs {
            let n = Self.span(w)
            if bucket - newest >= n {
                sums[w] = Self.sum(contents, Self.range(w, bucket))
                continue
            }
            for b in (newest - n + 1)...(bucket - n) {
                guard let leaving = contents[b] else { continue }
                guard sums[w, default: WindowData()].subtract(leaving) else { return false }
            }
            for b in (newest + 1)...bucket {
                if let entering = contents[b] { sums[w, default: WindowData()].merge(entering) }
            }
        }
        newest = bucket
        return true
    }

    static func span(_ windowMs: Int64) -> Int64 { windowMs / TimeBucket.hotWidthMs }

    static func range(_ windowMs: Int64, _ newest: Int64) -> ClosedRange<Int64> {
        (newest - span(windowMs) + 1)...newest
    }

    private static func sum(_ contents: [Int64: WindowData], _ range: ClosedRange<Int64>) -> WindowData {
        var out = WindowData()
        for (b, d) in contents where range.contains(b) { out.merge(d) }
        return out
    }
}
