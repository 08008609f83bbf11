import OpsightMetrics
import Testing

@testable import PromQL

/// Vector matching and aggregation over series of many layouts (labels present in some series and absent in others,
/// names in different places), against an oracle that builds every signature and group as labels and keys a
/// dictionary by them, as Prometheus does. The evaluator finds the positions of a signature's labels once per layout
/// of names (`LabelLayouts`), so series whose layouts alternate, repeat after others and differ only in one name
/// are what it must get right.
@Suite struct EvaluatorOracleTests {
    static let names = ["service", "route", "quantile", "window", "x"]

    /// Series of metrics `a` and `b` with random subsets of `names`, few values (so signatures collide) and integer
    /// values (so sums are exact in any order).
    static func source(_ rng: inout SplitMix64) -> [Sample] {
        var seen = Set<Labels>()
        var samples: [Sample] = []
        for _ in 0..<160 {
            let metric = Bool.random(using: &rng) ? "a" : "b"
            let pairs = names.compactMap { name -> (String, String)? in
                guard Int.random(in: 0..<4, using: &rng) != 0 else { return nil }
                return (name, ["1", "2", "a value long enough to be on the heap"].randomElement(using: &rng)!)
            }
            let labels = Labels(pairs + [(Labels.metricName, metric)])
            guard seen.insert(labels).inserted else { continue }
            samples.append(Sample(labels: labels, value: Double(Int.random(in: -3...3, using: &rng))))
        }
        return samples
    }

    static func randomNames(_ rng: inout SplitMix64) -> [String] {
        (names + [Labels.metricName]).filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
    }

    /// Prometheus's one-to-one `VectorBinop` and set operations, with signatures built as labels: nil when the
    /// operation is an error (a duplicate match group on the right, or one group matched twice).
    static func oracle(_ op: BinaryOperator, bool: Bool, on: Bool, _ names: [String], _ lhs: [Sample], _ rhs: [Sample])
        -> [Sample]?
    {
        let matching = VectorMatching(on ? .on : .ignoring, names)
        func signature(_ l: Labels) -> Labels { matching.signature(of: l) }
        switch op {
        case .and, .unless:
            let right = Set(rhs.map { signature($0.labels) })
            return lhs.filter { right.contains(signature($0.labels)) == (op == .and) }
        case .or:
            let left = Set(lhs.map { signature($0.labels) })
            return lhs + rhs.filter { !left.contains(signature($0.labels)) }
        default:
            var right: [Labels: Double] = [:]
            for s in rhs {
                guard right.updateValue(s.value, forKey: signature(s.labels)) == nil else { return nil }
            }
            var matched = Set<Labels>()
            var out: [Sample] = []
            for s in lhs {
                let sig = signature(s.labels)
                guard let r = right[sig] else { continue }
                let value: Double
                switch op {
                case .multiply: value = s.value * r
                case .greater:
                    guard bool || s.value > r else { continue }
                    value = bool ? (s.value > r ? 1 : 0) : s.value
                default: fatalError("not in the test")
                }
                guard matched.insert(sig).inserted else { return nil }
                var labels = s.labels
                if op == .multiply || bool { labels = labels.droppingMetricName() }
                labels = on ? labels.keeping(names: names) : labels.removing(names: names)
                out.append(Sample(labels: labels, value: value))
            }
            return out
        }
    }

    /// The operations drawn: arithmetic, comparisons with and without `bool`, then the set operations.
    static let operators: [(BinaryOperator, String, Bool)] = [
        (.multiply, "*", false), (.greater, ">", false), (.greater, "> bool", true), (.and, "and", false),
        (.unless, "unless", false), (.or, "or", false),
    ]

    /// A random matching `a OP on|ignoring(…) b` of one of `operators` over fresh series, the evaluator over them and
    /// the oracle's answer (nil: an error).
    static func matchingCase(_ rng: inout SplitMix64, operators: [(BinaryOperator, String, Bool)]) -> (
        evaluator: Evaluator, matching: String, expected: [Sample]?, series: Int
    ) {
        let samples = source(&rng)
        let selected = samples.sorted { $0.labels < $1.labels }
        let lhs = selected.filter { $0.labels.name == "a" }
        let rhs = selected.filter { $0.labels.name == "b" }
        let names = randomNames(&rng)
        let on = Bool.random(using: &rng)
        let (op, text, bool) = operators.randomElement(using: &rng)!
        return (
            Evaluator(source: InMemorySampleSource(samples)),
            "a \(text) \(on ? "on" : "ignoring")(\(names.joined(separator: ", "))) b",
            oracle(op, bool: bool, on: on, names, lhs, rhs), selected.count
        )
    }

    @Test func binaryOperationsOverManyLayoutsEqualTheOracle() async throws {
        var rng = SplitMix64(seed: 2026_12_05)
        var compared = 0
        for _ in 0..<300 {
            let c = Self.matchingCase(&rng, operators: Self.operators)
            let query = c.matching
            do {
                let got = try await c.evaluator.evaluate(query, at: 0).samples ?? []
                let want = try #require(c.expected, "\(query): the oracle fails, the evaluator answered \(got)")
                #expect(
                    got.sorted { $0.labels < $1.labels } == want.sorted { $0.labels < $1.labels },
                    "\(query) over \(c.series) series")
                compared += 1
            } catch is PromQLError {
                #expect(c.expected == nil, "\(query): the evaluator fails, the oracle answers \(c.expected ?? [])")
            }
        }
        #expect(compared > 150)
    }

    /// A vector matching aggregated into one group or `by` some labels (its results then get only those labels): the
    /// same groups, values and errors as the oracle's matching aggregated by hand.
    @Test func matchingsAggregatedIntoOneGroupEqualTheOracle() async throws {
        var rng = SplitMix64(seed: 2026_12_06)
        var compared = 0
        for _ in 0..<500 {
            // The matchings of a vector (set operations keep their inputs' labels: nothing to leave out).
            let c = Self.matchingCase(&rng, operators: Array(Self.operators.prefix(4)))
            let (evaluator, matched) = (c.evaluator, c.expected)
            let aggregation = ["count", "sum", "max", "min"].randomElement(using: &rng)!
            // No clause, `by ()`, or `by` random names (the metric name among them at times).
            let by: [String]? = Bool.random(using: &rng) ? nil : Self.randomNames(&rng)
            let query = "\(aggregation)\(by.map { " by (\($0.joined(separator: ", ")))" } ?? "") ((\(c.matching)))"
            do {
                let got = try await evaluator.evaluate(query, at: 0).samples ?? []
                let results = try #require(matched, "\(query): the oracle fails, the evaluator answered \(got)")
                // The oracle's results, grouped by the listed labels of the matching's own result labels.
                var groups: [Labels: [Double]] = [:]
                for r in results { groups[r.labels.keeping(names: by ?? []), default: []].append(r.value) }
                let want = groups.mapValues { values -> Double in
                    switch aggregation {
                    case "count": Double(values.count)
                    case "sum": values.reduce(0, +)
                    case "max": values.max()!
                    default: values.min()!
                    }
                }
                #expect(
                    Dictionary(uniqueKeysWithValues: got.map { ($0.labels, $0.value) }) == want,
                    "\(query) over \(c.series) series")
                compared += 1
            } catch is PromQLError {
                #expect(matched == nil, "\(query): the evaluator fails, the oracle answers \(matched ?? [])")
            }
        }
        #expect(compared > 100)
    }

    @Test func aggregationsOverManyLayoutsEqualTheOracle() async throws {
        var rng = SplitMix64(seed: 17)
        for _ in 0..<200 {
            let samples = Self.source(&rng)
            let evaluator = Evaluator(source: InMemorySampleSource(samples))
            let names = Self.randomNames(&rng)
            let by = Bool.random(using: &rng)
            let grouping = Grouping(by ? .by : .without, names)
            var sums: [Labels: (Double, Int)] = [:]
            for s in samples {
                sums[grouping.groupLabels(of: s.labels), default: (0, 0)].0 += s.value
                sums[grouping.groupLabels(of: s.labels), default: (0, 0)].1 += 1
            }
            let clause = "\(by ? "by" : "without") (\(names.joined(separator: ", ")))"
            let sum = try await evaluator.evaluate("sum \(clause) ({__name__=~\"a|b\"})", at: 0).samples ?? []
            #expect(
                sum.sorted { $0.labels < $1.labels }
                    == sums.map { Sample(labels: $0.key, value: $0.value.0) }.sorted { $0.labels < $1.labels },
                "sum \(clause)")
            // No clause: one group without labels (also what `by ()` is).
            for op in ["sum", "count", "max", "min"] {
                let values = samples.map(\.value)
                let expected: Double =
                    switch op {
                    case "sum": values.reduce(0, +)
                    case "count": Double(values.count)
                    case "max": values.max()!
                    default: values.min()!
                    }
                let one = try await evaluator.evaluate("\(op)({__name__=~\"a|b\"})", at: 0).samples ?? []
                #expect(one == [Sample(labels: .empty, value: expected)], "\(op)")
            }
            let count = try await evaluator.evaluate("count \(clause) ({__name__=~\"a|b\"})", at: 0).samples ?? []
            #expect(
                count.sorted { $0.labels < $1.labels }
                    == sums.map { Sample(labels: $0.key, value: Double($0.value.1)) }.sorted { $0.labels < $1.labels },
                "count \(clause)")
        }
    }
}
