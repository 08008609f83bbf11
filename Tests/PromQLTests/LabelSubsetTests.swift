import OpsightMetrics
import Testing

@testable import PromQL

/// `LabelSubset` and `SubsetTable`, which aggregation and vector matching group by in place of the subset's labels:
/// two label sets are equal under a subset exactly when their subsets' labels are, and a table finds the entry of
/// exactly the equal subset.
@Suite struct LabelSubsetTests {
    /// Random labels over a few names and values, any of them absent (an empty value is an absent label).
    static func randomLabels(_ rng: inout SplitMix64) -> Labels {
        Labels(
            ["__name__", "service", "route", "window", "quantile"].map { name in
                (name, ["", "a", "b", "ab"].randomElement(using: &rng)!)
            })
    }

    static let lists: [[String]] = [
        [], ["service"], ["route", "service"], ["service", "__name__"], ["x"], ["service", "service"], ["quantile"],
    ]

    /// The subsets of every clause, with the labels each one stands for (computed without `LabelSubset`).
    static func subsets(_ names: [String]) -> [(LabelSubset, (Labels) -> Labels)] {
        [
            (VectorMatching(.on, names).subset, VectorMatching(.on, names).signature(of:)),
            (VectorMatching(.ignoring, names).subset, VectorMatching(.ignoring, names).signature(of:)),
            (Grouping(.by, names).subset, Grouping(.by, names).groupLabels(of:)),
            (Grouping(.without, names).subset, Grouping(.without, names).groupLabels(of:)),
        ]
    }

    @Test(arguments: lists)
    func subsetsAreEqualExactlyWhenTheirLabelsAre(names: [String]) {
        var rng = SplitMix64(seed: UInt64(names.count) + 17)
        let samples = (0..<300).map { _ in Self.randomLabels(&rng) }
        for (a, b) in zip(samples, samples.shuffled(using: &rng)) {
            for (subset, labels) in Self.subsets(names) {
                #expect(subset.labels(of: a) == labels(a))
                let same = labels(a) == labels(b)
                #expect(subset.equal(a, b) == same, "\(subset) \(a) \(b)")
                if same { #expect(subset.hash(of: a) == subset.hash(of: b), "\(subset) \(a) \(b)") }
            }
        }
    }

    /// A table numbers the distinct subsets in the order they first appear and finds each one's entry, past growing
    /// from a small capacity; a subset never inserted is not found.
    @Test(arguments: lists)
    func tableFindsTheEntryOfEqualSubsets(names: [String]) {
        var rng = SplitMix64(seed: UInt64(names.count) + 99)
        let inserted = (0..<400).map { _ in Self.randomLabels(&rng) }
        let probes = (0..<400).map { _ in Self.randomLabels(&rng) }
        for (subset, labels) in Self.subsets(names) {
            var table = SubsetTable(subset, capacity: 1)
            var oracle: [Labels] = []  // the distinct subsets' labels, in order of appearance
            for l in inserted {
                let (entry, isNew) = table.insert(l)
                if let i = oracle.firstIndex(of: labels(l)) {
                    #expect(!isNew && entry == i)
                } else {
                    #expect(isNew && entry == oracle.count)
                    oracle.append(labels(l))
                }
            }
            #expect(table.count == oracle.count)
            for p in probes { #expect(table.find(p) == oracle.firstIndex(of: labels(p)), "\(subset) \(p)") }
        }
    }

    /// `SharedLabels` gives, for each label set's labels at some positions, labels equal to those built from them —
    /// the one built for an equal earlier set — over random layouts, and past ``SharedLabels/maxSets`` distinct sets
    /// (each then built).
    @Test func sharedLabelsEqualTheLabelsBuiltFromThePositions() {
        var rng = SplitMix64(seed: 2026_12_06)
        var shared = SharedLabels()
        var builds = 0
        let rounds = SharedLabels.maxSets * 3
        for n in 0..<rounds {
            // Few distinct sets at first, then ever more (a distinct value each) past the bound.
            var labels = Self.randomLabels(&rng)
            if n > rounds / 3 { labels = Labels(labels.pairs.map { ($0.name, $0.value) } + [("n", "\(n)")]) }
            labels.pairs.withUnsafeBufferPointer { pairs in
                let positions = pairs.indices.filter { _ in Bool.random(using: &rng) }
                let expected = Labels(sorted: positions.map { pairs[$0] })
                let got = shared.labels(pairs, at: positions[...]) {
                    builds += 1
                    return expected
                }
                #expect(got == expected, "\(labels) at \(positions)")
            }
        }
        // The first third repeats a few sets: most of it was not built again.
        #expect(builds < rounds, "\(builds) builds for \(rounds) sets")
    }
}
