import Foundation
import Testing

@testable import OpsightMetrics

@Suite struct LogSketchTests {
    /// The quantiles every property is checked at.
    static let quantiles: [Double] = [0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1]

    /// A named sample generator.
    struct Distribution: CustomTestStringConvertible, Sendable {
        let name: String
        let generate: @Sendable (inout SplitMix64) -> [Double]
        var testDescription: String { name }
    }

    static func uniform(_ rng: inout SplitMix64) -> Double { Double(rng.next() >> 11) / Double(1 << 53) }

    static func normal(_ rng: inout SplitMix64) -> Double {
        // Box–Muller; 1 − u keeps the logarithm finite.
        let u1 = 1 - uniform(&rng)
        let u2 = uniform(&rng)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    static let distributions: [Distribution] = [
        Distribution(name: "uniform 0..1000 ms") { rng in (0..<20_000).map { _ in uniform(&rng) * 1000 } },
        Distribution(name: "log-normal heavy tail") { rng in (0..<20_000).map { _ in exp(3 + 2 * normal(&rng)) } },
        Distribution(name: "bimodal fast/slow") { rng in
            (0..<20_000).map { _ in
                uniform(&rng) < 0.8 ? abs(5 + normal(&rng)) + 0.01 : abs(800 + 100 * normal(&rng))
            }
        },
        Distribution(name: "constant") { _ in Array(repeating: 42.0, count: 5_000) },
        Distribution(name: "single sample") { _ in [123.456] },
        Distribution(name: "30% zeros") { rng in
            (0..<10_000).map { _ in uniform(&rng) < 0.3 ? 0 : uniform(&rng) * 50 }
        },
        Distribution(name: "tiny and huge") { rng in
            (0..<5_000).map { _ in uniform(&rng) < 0.5 ? uniform(&rng) * 1e-6 + 1e-9 : 1e9 * (1 + uniform(&rng)) }
        },
    ]

    /// The exact sample quantile of SPEC §5: rank ⌊q·(n−1)⌋ of the sorted samples.
    static func exactQuantile(_ sorted: [Double], _ q: Double) -> Double {
        sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
    }

    /// Checks every quantile of `sketch` against the exact quantiles of `samples`.
    static func expectAccurate(
        _ sketch: LogSketch,
        _ samples: [Double],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let sorted = samples.sorted()
        for q in quantiles {
            let exact = exactQuantile(sorted, q)
            let estimate = try #require(sketch.quantile(q), sourceLocation: sourceLocation)
            if exact == 0 {
                #expect(estimate == 0, "q=\(q)", sourceLocation: sourceLocation)
            } else {
                let error = abs(estimate - exact) / exact
                #expect(
                    error <= LogSketch.relativeAccuracy + 1e-12,
                    "q=\(q) exact=\(exact) estimate=\(estimate) error=\(error)",
                    sourceLocation: sourceLocation
                )
            }
        }
    }

    @Test(arguments: distributions)
    func quantilesAreWithinOnePercentOfExactSampleQuantiles(_ distribution: Distribution) throws {
        var rng = SplitMix64(seed: 0x5EED_0001)
        let samples = distribution.generate(&rng)
        var sketch = LogSketch()
        for value in samples { sketch.add(value) }
        #expect(sketch.count == UInt64(samples.count))
        try Self.expectAccurate(sketch, samples)
    }

    @Test(arguments: distributions)
    func mergingFiftyPartialSketchesEqualsTheSketchOfTheUnion(_ distribution: Distribution) throws {
        var rng = SplitMix64(seed: 0x5EED_0002)
        let samples = distribution.generate(&rng)
        var whole = LogSketch()
        var parts = Array(repeating: LogSketch(), count: 50)
        for value in samples {
            whole.add(value)
            parts[Int(rng.next() % 50)].add(value)
        }
        var merged = LogSketch()
        for part in parts { merged.merge(part) }
        var mergedBackwards = LogSketch()
        for part in parts.reversed() { mergedBackwards.merge(part) }
        #expect(merged == whole)
        #expect(mergedBackwards == whole)
        #expect(merged.buckets.map(\.index) == whole.buckets.map(\.index))
        #expect(merged.buckets.map(\.count) == whole.buckets.map(\.count))
        try Self.expectAccurate(merged, samples)
    }

    @Test(arguments: distributions)
    func encodingRoundTrips(_ distribution: Distribution) throws {
        var rng = SplitMix64(seed: 0x5EED_0003)
        var sketch = LogSketch()
        for value in distribution.generate(&rng) { sketch.add(value) }
        let decoded = try LogSketch(decoding: sketch.encoded())
        #expect(decoded == sketch)
    }

    @Test func emptySketchHasNoQuantilesAndRoundTrips() throws {
        let sketch = LogSketch()
        #expect(sketch.isEmpty)
        #expect(sketch.quantile(0.5) == nil)
        #expect(try LogSketch(decoding: sketch.encoded()) == sketch)
    }

    @Test func zeroStaysExactlyZeroAndNegativeIsClampedToZero() {
        var sketch = LogSketch()
        sketch.add(0, count: 3)
        sketch.add(-5)
        sketch.add(.nan)
        #expect(sketch.zeroCount == 4)
        #expect(sketch.count == 4)
        #expect(sketch.quantile(1) == 0)
    }

    @Test func bucketsHoldValuesWithinRelativeAccuracyOfTheirRepresentative() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<10_000 {
            let value = exp((Self.uniform(&rng) - 0.5) * 80)
            let index = LogSketch.bucketIndex(for: value)
            let representative = LogSketch.representative(ofBucket: index)
            #expect(abs(representative - value) / value <= LogSketch.relativeAccuracy + 1e-12)
        }
    }

    @Test func extremeValuesAreClampedIntoTheBucketRange() {
        #expect(LogSketch.bucketIndex(for: .infinity) == LogSketch.bucketIndex(for: .greatestFiniteMagnitude))
        #expect(LogSketch.bucketIndex(for: .leastNonzeroMagnitude) == LogSketch.minIndex)
    }

    @Test func addingBucketCountsRebuildsTheSameSketch() {
        var rng = SplitMix64(seed: 11)
        var original = LogSketch()
        for _ in 0..<1000 { original.add(Self.uniform(&rng) * 100) }
        original.addZero(count: 5)
        var rebuilt = LogSketch()
        rebuilt.addZero(count: original.zeroCount)
        for bucket in original.buckets.reversed() { rebuilt.add(bucket: bucket.index, count: bucket.count) }
        #expect(rebuilt == original)
    }

    @Test(
        arguments: [
            ([], "invalid sketch encoding: empty input"),
            ([9], "invalid sketch encoding: unsupported version 9"),
            ([1, 0], "invalid sketch encoding: truncated input"),
            ([1, 0, 1, 2], "invalid sketch encoding: truncated input"),
            ([1, 0, 1, 2, 0], "invalid sketch encoding: empty bucket"),
            ([1, 0, 2, 2, 1, 0, 1], "invalid sketch encoding: bucket indices not increasing"),
            ([1, 0, 0, 7], "invalid sketch encoding: trailing bytes"),
            (
                [1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
                "invalid sketch encoding: varint overflows 64 bits"
            ),
        ] as [([UInt8], String)]
    )
    func malformedEncodingsAreRejected(bytes: [UInt8], message: String) {
        #expect(throws: SketchDecodingError.self) { try LogSketch(decoding: bytes) }
        do {
            _ = try LogSketch(decoding: bytes)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func encodingIsCompact() {
        var sketch = LogSketch()
        for i in 1...1000 { sketch.add(Double(i)) }
        // About 350 buckets of index delta 1: two bytes each plus a short header.
        #expect(sketch.encoded().count < sketch.buckets.count * 3 + 8)
    }
}

@Suite struct LogSketchSubtractionTests {
    /// Merging random sketches and subtracting some of them again gives exactly the sketch of the rest.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func subtractingUndoesMergingExactly(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var parts: [LogSketch] = []
        for _ in 0..<8 {
            var s = LogSketch()
            for _ in 0..<Int.random(in: 0...200, using: &rng) {
                s.add(Bool.random(using: &rng) && Bool.random(using: &rng) ? 0 : exp(Double.random(in: -2...9, using: &rng)))
            }
            parts.append(s)
        }
        var all = LogSketch()
        for p in parts { all.merge(p) }
        let (gone, kept) = (parts.prefix(5), parts.dropFirst(5))
        for p in gone {
            let ok = all.subtract(p)
            #expect(ok)
        }
        var rest = LogSketch()
        for p in kept { rest.merge(p) }
        #expect(all == rest)
        for p in kept {
            let ok = all.subtract(p)
            #expect(ok)
        }
        #expect(all == LogSketch())
    }

    @Test func subtractingValuesThatAreNotThereFails() {
        var a = LogSketch()
        a.add(10)
        var b = LogSketch()
        b.add(1_000)
        let farOff = a.subtract(b)
        #expect(!farOff)
        var c = LogSketch()
        c.add(10, count: 2)
        var d = LogSketch()
        d.add(10)
        let tooMany = d.subtract(c)
        #expect(!tooMany)
        var z = LogSketch()
        z.add(0)
        let noZero = d.subtract(z)
        #expect(!noZero)
    }
}

@Suite struct LogSketchAccumulatorTests {
    /// Folding many sketches through the dense accumulator equals merging them one by one.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func accumulatingEqualsMerging(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var merged = LogSketch()
        var acc = LogSketchAccumulator()
        for _ in 0..<50 {
            var s = LogSketch()
            let center = Double.random(in: -8...12, using: &rng)
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                s.add(Int.random(in: 0..<10, using: &rng) == 0 ? 0 : exp(center + Double.random(in: -2...2, using: &rng)))
            }
            merged.merge(s)
            acc.add(s)
        }
        #expect(acc.sketch == merged)
        #expect(LogSketchAccumulator().sketch == LogSketch())
    }
}

@Suite struct LogSketchSmallStorageTests {
    /// Random adds, merges and subtractions of sketches holding 0, 1 or a few buckets (the inline and the
    /// array storage, and every switch between them) agree with a plain dictionary of bucket counts, and two
    /// sketches with the same contents are `==` and encode to the same bytes however they were built.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func smallSketchesAgreeWithABucketDictionary(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        func value() -> Double {  // a few buckets only, and some zeros
            Int.random(in: 0..<6, using: &rng) == 0 ? 0 : [1.0, 1.5, 40, 41, 2_000][Int.random(in: 0..<5, using: &rng)]
        }
        for _ in 0..<300 {
            var sketch = LogSketch()
            var model: [Int32: UInt64] = [:]
            var zeros: UInt64 = 0
            var added: [LogSketch] = []
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                var part = LogSketch()
                for _ in 0..<Int.random(in: 0...3, using: &rng) {
                    let v = value()
                    part.add(v)
                    if v == 0 { zeros += 1 } else { model[LogSketch.bucketIndex(for: v), default: 0] += 1 }
                }
                if Bool.random(using: &rng) {
                    sketch.merge(part)
                } else {
                    for b in part.buckets { sketch.add(bucket: b.index, count: b.count) }
                    sketch.addZero(count: part.zeroCount)
                }
                added.append(part)
            }
            // Take some parts out again.
            for part in added where Bool.random(using: &rng) {
                let ok = sketch.subtract(part)
                #expect(ok)
                zeros -= part.zeroCount
                for b in part.buckets {
                    model[b.index]! -= b.count
                    if model[b.index] == 0 { model[b.index] = nil }
                }
            }
            let expected = model.sorted { $0.key < $1.key }
            #expect(sketch.buckets.map(\.index) == expected.map(\.key))
            #expect(sketch.buckets.map(\.count) == expected.map(\.value))
            #expect(sketch.bucketCount == expected.count)
            #expect(sketch.zeroCount == zeros)
            #expect(sketch.count == zeros + expected.reduce(0) { $0 + $1.value })
            // The same contents built from scratch, in order, compare and encode equal.
            var fresh = LogSketch()
            fresh.addZero(count: zeros)
            for (index, count) in expected { fresh.add(bucket: index, count: count) }
            #expect(sketch == fresh)
            #expect(sketch.encoded() == fresh.encoded())
            #expect(try LogSketch(decoding: sketch.encoded()) == sketch)
            for q in LogSketchTests.quantiles { #expect(sketch.quantile(q) == fresh.quantile(q)) }
        }
    }

    /// `quantiles(_:into:)` (one walk for several quantiles, what `/metrics` renders with) and `quantiles(of:and:…)`
    /// of two sketches answer each quantile as `quantile(_:)` of the merged sketch does, and within the relative
    /// accuracy of the exact sample quantile: empty, zeros only, one bucket, a few, thousands; quantiles ascending,
    /// repeated, out of order, NaN, outside 0…1.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func severalQuantilesAtOnceAnswerAsEachAlone(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let lists: [[Double]] = [
            [0.5, 0.95, 0.99], [0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1], [0.99, 0.5], [0.5, 0.5, 0.5], [], [1],
            [-1, 0.5, 2], [.nan, 0.5], [0.5, .nan], [0.25, 0.75, .infinity],
        ]
        var values: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9]  // left over from an earlier call: resized and overwritten
        func samples() -> [Double] {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: []
            case 1: Array(repeating: 0, count: Int.random(in: 1...5, using: &rng))
            case 2: Array(repeating: 7.5, count: Int.random(in: 1...9, using: &rng)) + [0]
            case 3: (0..<Int.random(in: 1...12, using: &rng)).map { _ in Double(Int.random(in: 0...20, using: &rng)) }
            default:
                (0..<Int.random(in: 1...5_000, using: &rng)).map { _ in exp(3 + 2 * LogSketchTests.normal(&rng)) }
            }
        }
        for _ in 0..<400 {
            // A long window's older part and its newest minutes: quantiles of the two together, not merged.
            let (older, newer) = (samples(), samples())
            var (a, b, merged) = (LogSketch(), LogSketch(), LogSketch())
            for v in older {
                a.add(v)
                merged.add(v)
            }
            for v in newer {
                b.add(v)
                merged.add(v)
            }
            let sorted = (older + newer).sorted()
            for qs in lists {
                merged.quantiles(qs, into: &values)
                #expect(values.count == qs.count)
                var parts: [Double] = []
                LogSketch.quantiles(of: a, and: b, qs, into: &parts)
                for (i, q) in qs.enumerated() {
                    let alone = merged.quantile(q)
                    #expect(alone == nil ? values[i].isNaN : values[i] == alone, "q \(q) of \(sorted.count) samples")
                    #expect(alone == nil ? parts[i].isNaN : parts[i] == alone, "q \(q) of \(older.count) + \(newer.count)")
                    guard let alone, (0...1).contains(q) else { continue }
                    let exact = LogSketchTests.exactQuantile(sorted, q)
                    #expect(abs(alone - exact) <= LogSketch.relativeAccuracy * exact + 1e-12)
                }
            }
        }
    }

    /// A sketch subtracted down to one bucket equals the one-bucket sketch (the storage is canonical).
    @Test func subtractingDownToOneBucketEqualsTheOneBucketSketch() {
        var one = LogSketch()
        one.add(12)
        var two = one
        two.add(5_000)
        var other = LogSketch()
        other.add(5_000)
        let ok = two.subtract(other)
        #expect(ok)
        #expect(two == one)
        #expect(two.quantile(0.5) == one.quantile(0.5))
    }
}
