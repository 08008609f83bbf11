import Testing

@testable import PromQL

@Suite struct EvaluatorAggregationTests {
    /// Aggregations → result lines, computed by hand.
    static let cases: [(String, [String])] = [
        (#"sum(opsight_request_rate{window="5m"})"#, ["{} 30"]),
        (#"sum by (service) (opsight_request_rate{window="5m"})"#, [#"{service="api"} 14"#, #"{service="web"} 16"#]),
        (#"sum(opsight_request_rate{window="5m"}) by (service)"#, [#"{service="api"} 14"#, #"{service="web"} 16"#]),
        (
            "sum without (route, method) (opsight_request_rate)",
            [
                #"{service="api", window="1h"} 17.5"#, #"{service="api", window="5m"} 14"#,
                #"{service="web", window="1h"} 20"#, #"{service="web", window="5m"} 16"#,
            ]
        ),
        (
            #"max by (service) (opsight_request_latency_seconds{quantile="0.99"})"#,
            [#"{service="api"} 10"#, #"{service="web"} 1"#]
        ),
        (
            "min by (service, quantile) (opsight_request_latency_seconds)",
            [
                #"{quantile="0.5", service="api"} 0.125"#, #"{quantile="0.5", service="web"} 0.0625"#,
                #"{quantile="0.95", service="api"} 1.5"#, #"{quantile="0.95", service="web"} 0.5"#,
                #"{quantile="0.99", service="api"} 3"#, #"{quantile="0.99", service="web"} 1"#,
            ]
        ),
        (
            #"avg by (service) (opsight_request_error_ratio{window="5m"})"#,
            [#"{service="api"} 0.109375"#, #"{service="web"} 0"#]
        ),
        ("count by (service) (opsight_request_rate)", [#"{service="api"} 6"#, #"{service="web"} 2"#]),
        ("count(opsight_request_rate > 5)", ["{} 4"]),
        (
            #"sum by (__name__) ({service="web", window="5m"})"#,
            [
                #"{__name__="opsight_request_error_ratio"} 0"#, #"{__name__="opsight_request_latency_seconds"} 1.5625"#,
                #"{__name__="opsight_request_rate"} 16"#, #"{__name__="opsight_service_error_ratio"} 0.0625"#,
                #"{__name__="opsight_service_request_rate"} 16"#,
            ]
        ),
        (
            #"count without (quantile) (opsight_request_latency_seconds{service="api"})"#,
            [
                #"{method="GET", route="/orders", service="api", window="5m"} 3"#,
                #"{method="GET", route="/users", service="api", window="5m"} 3"#,
                #"{method="POST", route="/users", service="api", window="5m"} 3"#,
            ]
        ),
        ("sum by (nonexistent) (opsight_service_request_rate)", ["{} 67.5"]),
        (
            "sum without () (opsight_service_request_rate)",
            [
                #"{service="api", window="1h"} 17.5"#, #"{service="api", window="5m"} 14"#,
                #"{service="web", window="1h"} 20"#, #"{service="web", window="5m"} 16"#,
            ]
        ),
        ("sum(nonexistent)", []),
        (#"max(opsight_request_error_ratio{window="5m"} / opsight_request_error_ratio{window="5m"})"#, ["{} 1"]),
        (#"min(opsight_request_error_ratio{window="5m"} / opsight_request_error_ratio{window="5m"})"#, ["{} 1"]),
        (#"sum(opsight_request_error_ratio{window="5m"} / opsight_request_error_ratio{window="5m"})"#, ["{} NaN"]),
        (#"avg(opsight_request_error_ratio{window="5m"} / opsight_request_error_ratio{window="5m"})"#, ["{} NaN"]),
        (#"max(opsight_request_error_ratio{service="web", window="5m"} / 0)"#, ["{} NaN"]),
        (#"sum(opsight_service_request_rate / 0) - sum(opsight_service_request_rate)"#, ["{} +Inf"]),
        (#"avg(opsight_service_request_rate{window="5m"} / 0)"#, ["{} +Inf"]),
        (
            #"sum by (service) (opsight_request_rate{window="5m"}) / on(service) opsight_service_request_rate{window="5m"}"#,
            [#"{service="api"} 1"#, #"{service="web"} 1"#]
        ),
    ]

    @Test(arguments: cases)
    func aggregates(query: String, expected: [String]) async throws {
        #expect(try await Fixture.evaluate(query) == expected)
    }

    /// Every aggregation and grouping agrees with a direct computation over the fixture's samples.
    @Test(arguments: AggregationOperator.allCases)
    func agreesWithDirectComputation(op: AggregationOperator) async throws {
        let groupings = [
            "", "by (service)", "by (service, window)", "without (route)", "without (route, method, quantile)",
            "by (__name__, window)",
        ]
        for grouping in groupings {
            let query = "\(op.rawValue) \(grouping) ({__name__=~\"opsight_request_.*\"})"
            let groupOf: (Labels) -> Labels = { labels in
                let parts = grouping.split(whereSeparator: { "(), ".contains($0) }).map(String.init)
                guard let mode = parts.first else { return .empty }
                let names = Array(parts.dropFirst())
                return mode == "by" ? labels.keeping(names: names) : labels.removing(names: names + ["__name__"])
            }
            var groups: [Labels: [Double]] = [:]
            for sample in Fixture.samples where sample.labels.name!.hasPrefix("opsight_request_") {
                groups[groupOf(sample.labels), default: []].append(sample.value)
            }
            let expected = groups.map { labels, values in
                let value: Double =
                    switch op {
                    case .sum: values.reduce(0, +)
                    case .min: values.min()!
                    case .max: values.max()!
                    case .avg: values.reduce(0, +) / Double(values.count)
                    case .count: Double(values.count)
                    }
                return "\(labels) \(FloatFormat.prometheus(value))"
            }
            .sorted()
            #expect(try await Fixture.evaluate(query).sorted() == expected, "\(query)")
        }
    }

    @Test func sumsWithCompensation() async throws {
        let source = InMemorySampleSource([
            Sample(labels: ["__name__": "x", "i": "1"], value: 1e100),
            Sample(labels: ["__name__": "x", "i": "2"], value: 1),
            Sample(labels: ["__name__": "x", "i": "3"], value: -1e100),
        ])
        #expect(try await Fixture.evaluate("sum(x)", source: source) == ["{} 1"])
        #expect(try await Fixture.evaluate("avg(x)", source: source) == ["{} 0.3333333333333333"])
    }

    @Test func averagesIncrementallyWhenTheSumWouldOverflow() async throws {
        let source = InMemorySampleSource([
            Sample(labels: ["__name__": "x", "i": "1"], value: 1.5e308),
            Sample(labels: ["__name__": "x", "i": "2"], value: 1.7e308),
            Sample(labels: ["__name__": "x", "i": "3"], value: 1.6e308),
        ])
        let value = try #require(try await Evaluator(source: source).evaluate("avg(x)", at: 0).samples?.first?.value)
        #expect(value.isFinite)
        #expect(abs(value - 1.6e308) / 1.6e308 < 1e-15)
        #expect(try await Fixture.evaluate("sum(x)", source: source) == ["{} +Inf"])
    }
}
