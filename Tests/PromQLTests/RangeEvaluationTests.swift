import OpsightMetrics
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

    /// Series that come and go from step to step (each step's series at other positions than the last's): a range
    /// equals each step evaluated alone, its samples gathered per label set.
    @Test func seriesComingAndGoingEqualEachStepAlone() async throws {
        var rng = SplitMix64(seed: 2026_12_06)
        for _ in 0..<20 {
            var source = InMemorySampleSource(lookback: 10_000)
            for series in 0..<Int.random(in: 1...40, using: &rng) {
                for _ in 0..<Int.random(in: 0...12, using: &rng) {
                    source.add(
                        ["__name__": "x", "job": "j\(series % 7)", "i": "\(series)"],
                        value: Double(Int.random(in: -5...5, using: &rng)),
                        at: Int64.random(in: 0...300_000, using: &rng))
                }
            }
            let expr = try Parser.parse(["x * 2", "sum by (job) (x)", "x > 0"].randomElement(using: &rng)!)
            let step = Int64.random(in: 1...4, using: &rng) * 5_000
            let evaluator = Evaluator(source: source)
            let got = try await evaluator.evaluateRange(expr, start: 0, end: 300_000, step: step)
            var want: [Labels: [Point]] = [:]
            for time in stride(from: Int64(0), through: 300_000, by: Int(step)) {
                for sample in try await evaluator.evaluate(expr, at: time).samples ?? [] {
                    want[sample.labels, default: []].append(Point(timestamp: time, value: sample.value))
                }
            }
            #expect(got == want.map { Series(labels: $0.key, points: $0.value) }.sorted { $0.labels < $1.labels })
        }
    }
}
