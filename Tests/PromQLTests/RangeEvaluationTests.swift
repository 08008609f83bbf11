import Testing

@testable import PromQL

@Suite struct RangeEvaluationTests {
    @Test func evaluatesAtEveryStep() async throws {
        var source = InMemorySampleSource(lookback: 15_000)
        source.add(["__name__": "x", "job": "a"], value: 1, at: 0)
        source.add(["__name__": "x", "job": "a"], value: 2, at: 20_000)
        source.add(["__name__": "x", "job": "b"], value: 5, at: 20_000)
        let series = try await Evaluator(source: source)
            .evaluateRange(try Parser.parse("x * 2"), start: 0, end: 40_000, step: 10_000)
        #expect(
            series == [
                Series(
                    labels: ["job": "a"],
                    points: [
                        Point(timestamp: 0, value: 2), Point(timestamp: 10_000, value: 2),
                        Point(timestamp: 20_000, value: 4), Point(timestamp: 30_000, value: 4),
                    ]),
                Series(
                    labels: ["job": "b"],
                    points: [Point(timestamp: 20_000, value: 10), Point(timestamp: 30_000, value: 10)]),
            ])
    }

    @Test func turnsScalarsIntoASeriesWithoutLabels() async throws {
        let series = try await Evaluator(source: InMemorySampleSource())
            .evaluateRange(try Parser.parse("1 + 1"), start: 1_000, end: 2_000, step: 500)
        #expect(series.map(\.labels) == [.empty])
        #expect(series.first?.points.map(\.timestamp) == [1_000, 1_500, 2_000])
    }

    @Test func rejectsNonPositiveSteps() async {
        await #expect(throws: PromQLError.self) {
            try await Evaluator(source: InMemorySampleSource()).evaluateRange(
                .number(NumberLiteral(value: 1)), start: 0, end: 1, step: 0)
        }
    }
}
