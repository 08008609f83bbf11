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
