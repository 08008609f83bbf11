import Testing

@testable import PromQL

@Suite struct InMemorySampleSourceTests {
    static let labels: Labels = ["__name__": "x", "job": "a"]

    static let source: InMemorySampleSource = {
        var source = InMemorySampleSource()
        source.add(labels, value: 1, at: 10_000)
        source.add(labels, value: 3, at: 30_000)
        source.add(labels, value: 2, at: 20_000)
        source.add(labels, value: 4, at: 30_000)
        source.add(["__name__": "y"], value: 9, at: 10_000)
        return source
    }()

    /// Evaluation time → the value of `x` (the latest point at or before it, at most 5 minutes old).
    static let values: [(Int64, Double?)] = [
        (9_999, nil), (10_000, 1), (19_999, 1), (20_000, 2), (30_000, 4), (330_000, 4), (330_001, nil),
    ]

    @Test(arguments: values)
    func takesLatestPointWithinLookback(time: Int64, expected: Double?) async throws {
        let samples = try await Self.source.select([LabelMatcher(name: "__name__", equalTo: "x")], at: .at(time))
        #expect(samples.map(\.value) == (expected.map { [$0] } ?? []))
    }

    @Test func appliesAllMatchers() async throws {
        let matchers = [
            try LabelMatcher(name: "__name__", op: .regexMatch, value: "x|y"),
            try LabelMatcher(name: "job", op: .notEqual, value: "a"),
        ]
        let samples = try await Self.source.select(matchers, at: .at(10_000))
        #expect(samples == [Sample(labels: ["__name__": "y"], value: 9)])
    }

    @Test func constantSamplesHaveValuesAtAnyTime() async throws {
        let source = InMemorySampleSource([Sample(labels: Self.labels, value: 7)])
        for time: Int64 in [.min, -1, 0, 1_795_312_800_000, .max] {
            #expect(try await source.select([], at: .at(time)).map(\.value) == [7])
        }
    }
}
