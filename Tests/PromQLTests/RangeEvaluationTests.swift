import OpsightMetrics
import Synchronization
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
            let oracle = want.map { Series(labels: $0.key, points: $0.value) }.sorted { $0.labels < $1.labels }
            #expect(got == oracle)
            // Cut into runs evaluated side by side (an end off the steps' grid too): the same series and points.
            for parts in [2, 3, 7] {
                let cut = try await evaluator.evaluateRange(
                    expr, start: 0, end: 300_000 + step / 2, step: step, parts: parts)
                #expect(cut == oracle, "\(parts) parts at \(step) ms steps")
            }
        }
    }

    /// A range cut into runs: each run has its own `forRange` source through the range's end and asks it its own steps,
    /// in order; an error is the one of the earliest failing step, whichever run fails first.
    @Test func runsEachHaveTheirSourceAndTheEarliestErrorWins() async throws {
        struct Failing: Error, Equatable { var time: Int64 }
        final class Ranges: Sendable {
            let asked = Mutex<[(start: Int64, end: Int64, steps: [Int64])]>([])
        }
        struct Source: SampleSource {
            var failFrom: Int64
            var ranges: Ranges
            var run: Int?
            func select(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> [Sample] {
                let t = time.milliseconds
                // The first run's steps are slow, so that later runs fail first.
                if t <= 34_000 { try await Task.sleep(for: .milliseconds(2)) }
                if t >= failFrom { throw Failing(time: t) }
                return [Sample(labels: ["__name__": "x"], value: Double(t))]
            }
            func forRange(start: Int64, end: Int64, step: Int64) -> any SampleSource {
                var run = self
                run.run = ranges.asked.withLock {
                    $0.append((start, end, []))
                    return $0.count - 1
                }
                return run
            }
            func step(_ query: String, at time: Int64) async throws -> RangeStep {
                if let run { ranges.asked.withLock { $0[run].steps.append(time) } }
                return .evaluate(source: self, keep: nil)
            }
        }
        let ranges = Ranges()
        let ok = try await Evaluator(source: Source(failFrom: .max, ranges: ranges))
            .evaluateRange(try Parser.parse("x"), start: 1_000, end: 100_999, step: 1_000, parts: 3)
        #expect(ok.first?.points.map(\.timestamp) == Array(stride(from: 1_000, through: 100_000, by: 1_000)))
        let asked = ranges.asked.withLock { $0 }.sorted { $0.start < $1.start }
        #expect(asked.map(\.start) == [1_000, 35_000, 68_000])
        // Each source runs through the range's end; each run asks its own steps only.
        #expect(asked.map(\.end) == [100_999, 100_999, 100_999])
        #expect(asked.map(\.steps.count) == [34, 33, 33])
        #expect(
            asked.allSatisfy { r in
                r.steps == Array(stride(from: r.start, through: r.start + Int64(r.steps.count - 1) * 1_000, by: 1_000))
            })
        #expect(asked.flatMap(\.steps) == Array(stride(from: 1_000, through: 100_000, by: 1_000)))
        for failFrom: Int64 in [20_000, 50_000, 90_000] {
            await #expect(throws: Failing(time: failFrom)) {
                try await Evaluator(source: Source(failFrom: failFrom, ranges: Ranges()))
                    .evaluateRange(try Parser.parse("x"), start: 1_000, end: 100_999, step: 1_000, parts: 3)
            }
        }
    }
}
