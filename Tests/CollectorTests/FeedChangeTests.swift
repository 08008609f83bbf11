import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

/// A change held as its commit's deltas reads as the same change decoded by bucket: the same cells by bucket, the same
/// buckets, the same sums over any run of buckets (what a window cache adds), the same `_total` counts.
@Suite struct FeedChangeTests {
    @Test(arguments: [1, 2, 3] as [UInt64])
    func deltasReadAsTheirCellsByBucket(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let base: Int64 = 1_800_000_000_000
        // Two deltas of one commit (a flush's and its queue waits'), sharing series and buckets.
        let a = BatchAggregate(
            events: randomEvents(count: 1_500, baseMs: base, spanMs: 3_600_000, rng: &rng), rules: .init()
        ).hot
        let b = BatchAggregate(
            events: randomEvents(count: 500, baseMs: base, spanMs: 3_600_000, rng: &rng), rules: .init()
        ).hot
        var merged = a
        merged.merge(b)
        let oracle = merged.byBucket
        let held = FeedChange(deltas: [a, b])
        let decoded = FeedChange(oracle)
        #expect(held.byBucket == oracle && held == decoded)
        #expect(held.buckets == Set(oracle.keys) && !held.isEmpty)
        let buckets = oracle.keys.sorted()
        for _ in 0..<10 {
            // Several windows at once, overlapping or not, some holding no cell.
            let ranges = (0..<4).map { _ -> ClosedRange<Int64> in
                let lo = buckets[Int(rng.next() % UInt64(buckets.count))] - Int64(rng.next() % 3)
                return lo...(lo + Int64(rng.next() % 200))
            } + [0...1]
            var fromDeltas = Array(repeating: WindowData(), count: ranges.count)
            held.add(to: &fromDeltas, ranges: ranges)
            var fromBuckets = Array(repeating: WindowData(), count: ranges.count)
            decoded.add(to: &fromBuckets, ranges: ranges)
            for (i, range) in ranges.enumerated() {
                let sum = WindowData.sum(of: oracle, in: range)
                #expect(fromDeltas[i] == sum && fromBuckets[i] == sum, "\(range)")
            }
        }
        var countsHeld = WindowData()
        countsHeld.addCounts(of: held)
        var countsDecoded = WindowData()
        for data in oracle.values { countsDecoded.addCounts(of: data) }
        #expect(countsHeld == countsDecoded && !countsHeld.requests.isEmpty)
        #expect(FeedChange(deltas: [Delta(), Delta()]).isEmpty && FeedChange([:]).isEmpty)
    }
}
