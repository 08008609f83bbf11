import Testing

@testable import PromQL

@Suite struct LabelsTests {
    @Test func sortsByNameDropsEmptyValuesAndKeepsLastDuplicate() {
        let labels = Labels([("service", "api"), ("Z", "upper"), ("__name__", "m"), ("empty", ""), ("service", "web")])
        #expect(labels.pairs.map(\.name) == ["Z", "__name__", "service"])
        #expect(labels["service"] == "web")
        #expect(labels["empty"] == nil)
        #expect(labels.name == "m")
    }

    @Test func printsLikePrometheus() {
        let labels: Labels = ["__name__": "m", "path": "/a\"b\\c\n", "é": "ü"]
        #expect(labels.description == #"{__name__="m", path="/a\"b\\c\n", é="ü"}"#)
        #expect(Labels.empty.description == "{}")
    }

    @Test func keepsRemovesAndSetsLabels() {
        let labels: Labels = ["__name__": "m", "a": "1", "b": "2", "c": "3"]
        #expect(labels.keeping(names: ["a", "c", "zz"]) == ["a": "1", "c": "3"])
        #expect(labels.removing(names: ["a", "__name__"]) == ["b": "2", "c": "3"])
        #expect(labels.droppingMetricName() == ["a": "1", "b": "2", "c": "3"])
        #expect(labels.setting("bb", to: "x") == ["__name__": "m", "a": "1", "b": "2", "bb": "x", "c": "3"])
        #expect(labels.setting("a", to: "") == ["__name__": "m", "b": "2", "c": "3"])
        #expect(labels.setting("a", to: "9").pairs.map(\.value) == ["m", "9", "2", "3"])
        #expect(labels.dictionary == ["__name__": "m", "a": "1", "b": "2", "c": "3"])
    }

    /// Pairs of labels in Prometheus's order (`labels.Compare`).
    static let ordered: [(Labels, Labels)] = [
        (["a": "1"], ["a": "2"]),
        (["a": "1"], ["b": "1"]),
        (["a": "1"], ["a": "1", "b": "1"]),
        (["a": "1", "c": "1"], ["b": "1"]),
        (["a": "Z"], ["a": "a"]),
        (.empty, ["a": "1"]),
    ]

    @Test(arguments: ordered)
    func ordersLikePrometheus(smaller: Labels, larger: Labels) {
        #expect(smaller < larger)
        #expect(!(larger < smaller))
    }
}

/// Label sets built by linear search equal those built through a dictionary, for random pairs with duplicates, empty
/// values and names that sort in every order; past 32 pairs the dictionary builds them.
@Suite struct LabelsBuildTests {
    @Test func linearSearchEqualsTheDictionaryBuild() {
        var rng = SystemRandomNumberGenerator()
        let names = ["__name__", "service", "route", "method", "window", "quantile", "Z", "a", "é", "a\u{0}b", ""]
        let values = ["", "api", "/a", "GET", "5m", "0.99", "\u{0}", "x y"]
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...(Bool.random(using: &rng) ? 8 : 60), using: &rng)
            let pairs = (0..<count).map { i in
                (
                    Bool.random(using: &rng) ? names.randomElement(using: &rng)! : "n\(i % 40)",
                    values.randomElement(using: &rng)!
                )
            }
            #expect(Labels(pairs) == Labels(byName: pairs), "\(pairs)")
        }
    }
}
