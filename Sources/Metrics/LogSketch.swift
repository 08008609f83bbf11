/// A DDSketch-style histogram of non-negative values (durations) with bounded relative error.
///
/// Values fall into logarithmic buckets of the FIXED ratio ``gamma``: bucket `i` holds (γ^(i−1), γ^i]
/// and answers with 2γ^i/(γ+1), within ``relativeAccuracy`` of every value in it. Because γ never varies,
/// sketches from different collectors or time slots merge exactly by adding bucket counts, which is what
/// makes windowed quantiles across collectors correct (SPEC §5). Zero has its own exact bucket, so a
/// duration of 0 is reported as exactly 0.
///
/// Storage is sized by what the sketch holds. A sketch with one non-empty bucket keeps it inline, with no heap
/// allocation: that is most (series, 10-second bucket) cells of real traffic, where a series sees a value or
/// two per bucket (SPEC §11's shape: 10 000 series over an hour). From two buckets on, storage is sparse:
/// sorted parallel arrays of the non-empty buckets. Latencies of one series cluster in a few dozen buckets,
/// so after warm-up `add` is a binary search and an increment with no allocation.
///
/// The representation is canonical (inline exactly when there is one non-empty bucket), so the synthesized
/// `==` compares contents.
public struct LogSketch: Sendable, Equatable {
    /// The guaranteed relative error α of every quantile: 1 %.
    public static let relativeAccuracy: Double = 0.01
    /// The bucket ratio γ = (1 + α) / (1 − α).
    public static let gamma: Double = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    /// ln γ, precomputed for `bucketIndex`.
    private static let logGamma: Double = Math.ln(gamma)
    /// The bucket of the smallest positive `Double`; smaller indices never occur.
    static let minIndex: Int32 = Int32((Math.ln(Double.leastNonzeroMagnitude) / logGamma).rounded(.up))
    /// The bucket of the largest finite `Double`; larger values (infinity) are clamped into it.
    static let maxIndex: Int32 = Int32((Math.ln(Double.greatestFiniteMagnitude) / logGamma).rounded(.up))

    /// The one non-empty bucket while `inlineCount > 0`; then `indices` and `counts` are empty.
    private var inlineIndex: Int32 = 0
    /// The count of `inlineIndex`, 0 when the sketch does not hold exactly one non-empty bucket.
    private var inlineCount: UInt64 = 0
    /// Indices of the non-empty buckets, strictly increasing, when there are two or more; else empty.
    private var indices: [Int32] = []
    /// Counts of the buckets in `indices`, all > 0.
    private var counts: [UInt64] = []
    /// How many values were exactly zero (or negative, clamped to zero).
    public private(set) var zeroCount: UInt64 = 0
    /// The total number of values, zeros included.
    public private(set) var count: UInt64 = 0

    /// Creates an empty sketch.
    public init() {}

    /// The bucket of a value > 0: ⌈log_γ(value)⌉.
    public static func bucketIndex(for value: Double) -> Int32 {
        guard value < .infinity else { return maxIndex }
        let index = (Math.ln(value) / logGamma).rounded(.up)
        return Int32(min(max(index, Double(minIndex)), Double(maxIndex)))
    }

    /// The value a bucket stands for, 2γ^i/(γ+1): within α of everything in (γ^(i−1), γ^i].
    public static func representative(ofBucket index: Int32) -> Double {
        2 * Math.exponential(Double(index) * logGamma) / (gamma + 1)
    }

    /// Whether the sketch holds no values.
    public var isEmpty: Bool { count == 0 }

    /// The non-empty buckets, sorted by index (the zero bucket is ``zeroCount``).
    public var buckets: [(index: Int32, count: UInt64)] {
        if inlineCount > 0 { return [(inlineIndex, inlineCount)] }
        return (0..<indices.count).map { (indices[$0], counts[$0]) }
    }

    /// How many non-empty buckets there are (the zero bucket not counted).
    public var bucketCount: Int { inlineCount > 0 ? 1 : indices.count }

    /// Calls `body` with every non-empty bucket in index order, without building an array.
    @inlinable
    public func forEachBucket(_ body: (_ index: Int32, _ count: UInt64) throws -> Void) rethrows {
        try withBuckets { indices, counts in
            for i in 0..<indices.count { try body(indices[i], counts[i]) }
        }
    }

    /// The buckets as two buffers of equal length (one element each for an inline bucket).
    @usableFromInline
    func withBuckets<R>(
        _ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<UInt64>) throws -> R
    ) rethrows -> R {
        if inlineCount > 0 {
            var index = inlineIndex
            var count = inlineCount
            return try withUnsafePointer(to: &index) { i in
                try withUnsafePointer(to: &count) { c in
                    try body(UnsafeBufferPointer(start: i, count: 1), UnsafeBufferPointer(start: c, count: 1))
                }
            }
        }
        return try indices.withUnsafeBufferPointer { i in
            try counts.withUnsafeBufferPointer { c in try body(i, c) }
        }
    }

    /// Moves an inline bucket into the arrays (before an operation that works on them).
    private mutating func spill() {
        guard inlineCount > 0 else { return }
        indices = [inlineIndex]
        counts = [inlineCount]
        inlineCount = 0
        inlineIndex = 0
    }

    /// Keeps the representation canonical: one remaining bucket goes inline.
    private mutating func settle() {
        guard inlineCount == 0, indices.count == 1 else { return }
        inlineIndex = indices[0]
        inlineCount = counts[0]
        indices = []
        counts = []
    }

    /// Adds `value` `count` times. Zero and negative values go to the zero bucket; NaN is ignored.
    public mutating func add(_ value: Double, count: UInt64 = 1) {
        guard !value.isNaN, count > 0 else { return }
        if value <= 0 {
            addZero(count: count)
        } else {
            add(bucket: Self.bucketIndex(for: value), count: count)
        }
    }

    /// Adds `count` values to bucket `index`, e.g. when rebuilding a sketch from stored bucket counts.
    public mutating func add(bucket index: Int32, count: UInt64) {
        guard count > 0 else { return }
        self.count += count
        if inlineCount > 0 {
            if inlineIndex == index {
                inlineCount += count
                return
            }
            // A second bucket: from here on the arrays.
            indices = inlineIndex < index ? [inlineIndex, index] : [index, inlineIndex]
            counts = inlineIndex < index ? [inlineCount, count] : [count, inlineCount]
            inlineCount = 0
            inlineIndex = 0
            return
        }
        if indices.isEmpty {
            inlineIndex = index
            inlineCount = count
            return
        }
        // Values usually arrive in the same few buckets; appending past the end is the common growth case.
        if let last = indices.last, last < index {
            indices.append(index)
            counts.append(count)
            return
        }
        var low = 0
        var high = indices.count
        while low < high {
            let mid = (low + high) / 2
            if indices[mid] < index { low = mid + 1 } else { high = mid }
        }
        if low < indices.count && indices[low] == index {
            counts[low] += count
        } else {
            indices.insert(index, at: low)
            counts.insert(count, at: low)
        }
    }

    /// Adds `count` values that are exactly zero.
    public mutating func addZero(count: UInt64) {
        zeroCount += count
        self.count += count
    }

    /// Adds every value of `other`: the result equals the sketch of both value sets together.
    public mutating func merge(_ other: LogSketch) {
        guard !other.isEmpty else { return }
        guard !isEmpty else {
            self = other
            return
        }
        if other.inlineCount > 0 || other.indices.isEmpty {
            // At most one bucket to add: no arrays to merge.
            addZero(count: other.zeroCount)
            if other.inlineCount > 0 { add(bucket: other.inlineIndex, count: other.inlineCount) }
            return
        }
        spill()
        if indices.isEmpty {  // only zeros here: take the other's buckets as they are
            zeroCount += other.zeroCount
            count += other.count
            indices = other.indices
            counts = other.counts
            return
        }
        zeroCount += other.zeroCount
        count += other.count
        // One pass over both sorted bucket lists into arrays allocated once at the most they can need: merging a
        // long window's cold part and hot tail does this for every series of a `/metrics` scrape or a query.
        let capacity = indices.count + other.indices.count
        var mergedCounts: [UInt64] = []
        let mergedIndices = [Int32](unsafeUninitializedCapacity: capacity) { mi, n in
            mergedCounts = [UInt64](unsafeUninitializedCapacity: capacity) { mc, m in
                indices.withUnsafeBufferPointer { ai in
                    counts.withUnsafeBufferPointer { ac in
                        other.indices.withUnsafeBufferPointer { bi in
                            other.counts.withUnsafeBufferPointer { bc in
                                var (i, j, k) = (0, 0, 0)
                                while i < ai.count && j < bi.count {
                                    let (x, y) = (ai[i], bi[j])
                                    if x < y {
                                        mi[k] = x
                                        mc[k] = ac[i]
                                        i += 1
                                    } else if y < x {
                                        mi[k] = y
                                        mc[k] = bc[j]
                                        j += 1
                                    } else {
                                        mi[k] = x
                                        mc[k] = ac[i] + bc[j]
                                        i += 1
                                        j += 1
                                    }
                                    k += 1
                                }
                                while i < ai.count {
                                    mi[k] = ai[i]
                                    mc[k] = ac[i]
                                    i += 1
                                    k += 1
                                }
                                while j < bi.count {
                                    mi[k] = bi[j]
                                    mc[k] = bc[j]
                                    j += 1
                                    k += 1
                                }
                                m = k
                            }
                        }
                    }
                }
            }
            n = mergedCounts.count
        }
        indices = mergedIndices
        counts = mergedCounts
    }

    /// Removes the values of `other`, which must all be in this sketch (it was merged in before): the result
    /// equals the sketch of the remaining values, empty buckets dropped. Returns false, leaving the sketch
    /// unspecified, when `other` holds a value this sketch does not.
    ///
    /// Bucket counts are exact integers, so adding a bucket's sketch and later subtracting it restores the
    /// previous sketch exactly; sliding window sums rely on that.
    public mutating func subtract(_ other: LogSketch) -> Bool {
        guard !other.isEmpty else { return true }
        guard other.zeroCount <= zeroCount, other.count <= count else { return false }
        zeroCount -= other.zeroCount
        count -= other.count
        if inlineCount > 0 {
            // One bucket here: the other holds at most that bucket.
            guard other.bucketCount <= 1 else { return false }
            guard other.inlineCount > 0 else { return true }
            guard other.inlineIndex == inlineIndex, other.inlineCount <= inlineCount else { return false }
            inlineCount -= other.inlineCount
            if inlineCount == 0 { inlineIndex = 0 }
            return true
        }
        var other = other
        other.spill()
        defer { settle() }
        var j = 0
        var kept = 0
        for i in 0..<indices.count {
            var c = counts[i]
            if j < other.indices.count && other.indices[j] == indices[i] {
                guard other.counts[j] <= c else { return false }
                c -= other.counts[j]
                j += 1
            } else if j < other.indices.count && other.indices[j] < indices[i] {
                return false
            }
            if c > 0 {
                indices[kept] = indices[i]
                counts[kept] = c
                kept += 1
            }
        }
        guard j == other.indices.count else { return false }
        indices.removeLast(indices.count - kept)
        counts.removeLast(counts.count - kept)
        return true
    }

    /// The value at 0-based rank ⌊q·(n−1)⌋, within ``relativeAccuracy`` of the exact sample quantile;
    /// `nil` when empty or `q` is NaN. `q` is clamped to 0…1.
    public func quantile(_ q: Double) -> Double? {
        quantileRank(q).flatMap(value(atRank:))
    }

    /// Each of `qs` as ``quantile(_:)`` answers it, into `values` (resized to `qs.count`; NaN where it answers nil),
    /// in one pass over the buckets when `qs` ascend: `/metrics` asks every series for the same few quantiles.
    public func quantiles(_ qs: [Double], into values: inout [Double]) {
        Self.quantiles(of: self, and: LogSketch(), qs, into: &values)
    }

    /// ``quantiles(_:into:)`` of `a` and `b` merged, without merging them: one walk over both sorted bucket lists,
    /// nothing allocated. A long window is a day of minutes and two minutes of hot buckets; rendering its quantiles
    /// this way does not copy every series' day.
    public static func quantiles(of a: LogSketch, and b: LogSketch, _ qs: [Double], into values: inout [Double]) {
        if values.count != qs.count { values = [Double](repeating: .nan, count: qs.count) }
        var ascending = true
        for i in qs.indices.dropFirst() where !(qs[i - 1] <= qs[i]) { ascending = false }
        guard ascending else {
            var merged = a
            merged.merge(b)
            for (i, q) in qs.enumerated() { values[i] = merged.quantile(q) ?? .nan }
            return
        }
        let count = a.count + b.count
        let zeros = a.zeroCount + b.zeroCount
        a.withBuckets { ai, ac in
            b.withBuckets { bi, bc in
                var (i, j) = (0, 0)
                var seen = zeros
                for (n, q) in qs.enumerated() {
                    guard let rank = rank(of: q, count: count) else {
                        values[n] = .nan
                        continue
                    }
                    if rank < zeros {
                        values[n] = 0
                        continue
                    }
                    // Ranks ascend with `qs`: the walk goes on from the last answer's bucket, the next bucket being
                    // the lower index of the two lists (both counts when they hold the same one).
                    var answer: Int32? = nil
                    while i < ai.count || j < bi.count {
                        let index: Int32
                        var c: UInt64 = 0
                        if j == bi.count || (i < ai.count && ai[i] <= bi[j]) {
                            index = ai[i]
                        } else {
                            index = bi[j]
                        }
                        let (takeA, takeB) = (i < ai.count && ai[i] == index, j < bi.count && bi[j] == index)
                        if takeA { c += ac[i] }
                        if takeB { c += bc[j] }
                        if seen + c > rank {
                            answer = index
                            break
                        }
                        seen += c
                        if takeA { i += 1 }
                        if takeB { j += 1 }
                    }
                    // Past the last bucket only when the counts disagree with the buckets: the last bucket, as
                    // ``quantile(_:)`` answers then.
                    let last = max(ai.last ?? .min, bi.last ?? .min)
                    values[n] = answer.map(representative(ofBucket:)) ?? (last == .min ? .nan : representative(ofBucket: last))
                }
            }
        }
    }

    /// The 0-based rank ``quantile(_:)`` answers for `q` in `count` values; nil when there are none or `q` is NaN.
    private static func rank(of q: Double, count: UInt64) -> UInt64? {
        guard count > 0, !q.isNaN else { return nil }
        let clamped = min(max(q, 0), 1)
        return UInt64((clamped * Double(count - 1)).rounded(.down))
    }

    /// The 0-based rank ``quantile(_:)`` answers for `q`; nil when empty or `q` is NaN.
    private func quantileRank(_ q: Double) -> UInt64? { Self.rank(of: q, count: count) }

    /// The value of the sketch at `rank` (< ``count``).
    private func value(atRank rank: UInt64) -> Double? {
        if rank < zeroCount { return 0 }
        if inlineCount > 0 { return Self.representative(ofBucket: inlineIndex) }
        var seen = zeroCount
        for (i, bucketCount) in counts.enumerated() {
            seen += bucketCount
            if rank < seen { return Self.representative(ofBucket: indices[i]) }
        }
        return indices.last.map(Self.representative(ofBucket:))
    }
}
