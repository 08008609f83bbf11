/// Merges many sketches into one through a dense array of bucket counts.
///
/// ``LogSketch/merge(_:)`` rebuilds its sorted arrays on every call, which is right for merging a few
/// sketches but quadratic-ish when thousands of series are folded into one (a service's latency over 500
/// routes, for every service, on every overview request). Here each added bucket is one array increment.
public struct LogSketchAccumulator: Sendable {
    private var base: Int32 = 0
    private var dense: [UInt64] = []
    private var zeroCount: UInt64 = 0

    /// Nothing added yet.
    public init() {}

    /// Adds every value of `sketch`.
    public mutating func add(_ sketch: LogSketch) {
        zeroCount += sketch.zeroCount
        sketch.withBuckets { indices, counts in
            guard let low = indices.first, let high = indices.last else { return }
            cover(low, high)
            for i in 0..<indices.count { dense[Int(indices[i] - base)] += counts[i] }
        }
    }

    /// Takes out every value of `sketch`, added before: the counts are integers, so the sum is then exactly that
    /// of the other sketches added (a service's sum kept while one of its series changes, ``ExpositionCache``).
    public mutating func subtract(_ sketch: LogSketch) {
        zeroCount &-= sketch.zeroCount
        sketch.withBuckets { indices, counts in
            guard let low = indices.first, let high = indices.last else { return }
            cover(low, high)
            for i in 0..<indices.count { dense[Int(indices[i] - base)] &-= counts[i] }
        }
    }

    /// The merged sketch: equal to merging every added sketch with ``LogSketch/merge(_:)``.
    public var sketch: LogSketch {
        var out = LogSketch()
        out.addZero(count: zeroCount)
        for (i, c) in dense.enumerated() where c > 0 { out.add(bucket: base + Int32(i), count: c) }
        return out
    }

    private mutating func cover(_ low: Int32, _ high: Int32) {
        if dense.isEmpty {
            base = low
            dense = Array(repeating: 0, count: Int(high - low) + 1)
            return
        }
        if low < base {
            let pad = Int(base - low) + 64
            dense.insert(contentsOf: repeatElement(0, count: pad), at: 0)
            base -= Int32(pad)
        }
        let needed = Int(high - base) + 1
        if needed > dense.count { dense.append(contentsOf: repeatElement(0, count: needed - dense.count + 64)) }
    }
}
