import Testing

@testable import PromQL

/// SPEC §7's limits: nesting, length, series per evaluation, the deadline, and regexes that cannot stall.
@Suite struct QueryLimitTests {
    static func error(_ text: String) -> PromQLError? {
        do {
            _ = try Parser.parse(text)
            return nil
        } catch { return error }
    }

    /// Hostile shapes, by name (the texts themselves are too long to print).
    static let hostile: [String: String] = [
        "200000 parentheses": String(repeating: "(", count: 200_000) + "1" + String(repeating: ")", count: 200_000),
        "200000 minus signs": String(repeating: "-", count: 200_000) + "1",
        "30000 minus signs": String(repeating: "-", count: 30_000) + "1",
        "10000 nested sums": String(repeating: "sum(", count: 10_000) + "x" + String(repeating: ")", count: 10_000),
        "a chain of 200 additions": Array(repeating: "1", count: 200).joined(separator: " + "),
        "5000 powers": String(repeating: "2^", count: 5_000) + "2",
        "unclosed parentheses": String(repeating: "(", count: 60_000),
    ]

    @Test(arguments: hostile.keys.sorted())
    func deepExpressionsAreRefusedWithAPosition(shape: String) throws {
        let error = try #require(Self.error(Self.hostile[shape]!))
        #expect(error.code == .invalid)
        #expect(error.message.contains("128") || error.message.contains("65536"), "\(error.message)")
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let depth = Parser.maxDepth - 2
        let text = String(repeating: "(", count: depth) + "x" + String(repeating: ")", count: depth)
        #expect(throws: Never.self) { try Parser.parse(text) }
        #expect(throws: Never.self) { try Parser.parse(Array(repeating: "x", count: 100).joined(separator: " or ")) }
    }

    @Test func overlongExpressionsAreRefused() throws {
        let text = "x{a=\"" + String(repeating: "a", count: Parser.maxLength) + "\"}"
        let error = try #require(Self.error(text))
        #expect(error.message.contains("at most 65536"))
    }

    /// A backtracking engine takes exponential time here; RE2 answers at once.
    @Test func catastrophicRegexesMatchInLinearTime() throws {
        let matcher = try LabelMatcher(name: "route", op: .regexMatch, value: "(a+)+$|(a|aa)+b|(.*a){20}")
        let value = String(repeating: "a", count: 10_000) + "!"
        let start = ContinuousClock.now
        #expect(!matcher.matches(value))
        // A backtracking engine would need longer than the universe has; RE2 needs microseconds.
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func evaluationsOverTheSeriesCapAreRefused() async throws {
        var source = InMemorySampleSource()
        for i in 0..<100 { source.add(["__name__": "x", "i": "\(i)"], value: 1, at: 0) }
        let small = Evaluator(source: source, limits: QueryLimits(maxSeries: 150))
        await #expect(throws: Never.self) { try await small.evaluate("x", at: 0) }
        await #expect { try await small.evaluate("x + x", at: 0) } throws: { error in
            (error as? PromQLError)?.code == .limit
        }
        // Each step of a range query has its own budget.
        let series = try await small.evaluateRange(try Parser.parse("x"), start: 0, end: 10_000, step: 1_000)
        #expect(series.count == 100)
    }

    /// A source that never answers until cancelled.
    struct StallingSource: SampleSource {
        func select(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> [Sample] {
            while true {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    @Test(.timeLimit(.minutes(2))) func theDeadlineStopsTheWork() async throws {
        let start = ContinuousClock.now
        await #expect {
            try await QueryDeadline.run(timeout: .milliseconds(200)) {
                try await Evaluator(source: StallingSource()).evaluate("x", at: 0)
            }
        } throws: { error in
            (error as? PromQLError)?.code == .timeout
        }
        // Without the deadline this never returns (the time limit fails it); with it, at 0.2 s on a quiet machine.
        // The bound is loose because the whole wait can be spent queued for a thread of the cooperative pool, which
        // the test process's synchronous CPU-bound suites hold for half a minute at a time on two cores (33 s once).
        #expect(ContinuousClock.now - start < .seconds(90))
    }
}
