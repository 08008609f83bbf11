import OpsightMetrics
import Testing

@testable import PromQL

/// `LabelKey`, which aggregation and vector matching group by in place of the subset's labels: two label sets have
/// the same key exactly when they have the same subset.
@Suite struct LabelKeyTests {
    /// Random labels over a few names and values, any of them absent (an empty value is an absent label).
    static func randomLabels(_ rng: inout SplitMix64) -> Labels {
        Labels(
            ["__name__", "service", "route", "window"].map { name in
                (name, ["", "a", "b"].randomElement(using: &rng)!)
            })
    }

    static let lists: [[String]] = [[], ["service"], ["route", "service"], ["service", "__name__"], ["x"]]

    @Test(arguments: lists)
    func keysAreEqualExactlyWhenTheSubsetsAre(names: [String]) {
        var rng = SplitMix64(seed: UInt64(names.count) + 17)
        let samples = (0..<200).map { _ in Self.randomLabels(&rng) }
        let matchings = [VectorMatching(.on, names), VectorMatching(.ignoring, names)]
        let groupings = [Grouping(.by, names), Grouping(.without, names)]
        for (a, b) in zip(samples, samples.shuffled(using: &rng)) {
            for m in matchings {
                #expect((m.key(of: a) == m.key(of: b)) == (m.signature(of: a) == m.signature(of: b)), "\(m) \(a) \(b)")
            }
            for g in groupings {
                #expect(
                    (g.key(of: a) == g.key(of: b)) == (g.groupLabels(of: a) == g.groupLabels(of: b)), "\(g) \(a) \(b)")
            }
        }
    }
}
