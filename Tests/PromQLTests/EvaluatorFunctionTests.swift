import Testing

@testable import PromQL

@Suite struct EvaluatorFunctionTests {
    /// Function calls → result lines, computed by hand.
    static let cases: [(String, [String])] = [
        (
            #"abs(-opsight_service_request_rate{service="api"})"#,
            [#"{service="api", window="1h"} 17.5"#, #"{service="api", window="5m"} 14"#]
        ),
        (
            #"abs(opsight_service_error_ratio{service="web"} - 0.03125)"#,
            [#"{service="web", window="1h"} 0.0234375"#, #"{service="web", window="5m"} 0.03125"#]
        ),
        (#"abs(opsight_service_request_rate{service="web", window="5m"})"#, [#"{service="web", window="5m"} 16"#]),
        (
            #"clamp_min(opsight_request_rate{window="5m"}, 5)"#,
            [
                #"{method="GET", route="/", service="web", window="5m"} 16"#,
                #"{method="GET", route="/orders", service="api", window="5m"} 5"#,
                #"{method="GET", route="/users", service="api", window="5m"} 8"#,
                #"{method="POST", route="/users", service="api", window="5m"} 5"#,
            ]
        ),
        (
            #"clamp_max(opsight_request_rate{window="5m"}, 2 + 3)"#,
            [
                #"{method="GET", route="/", service="web", window="5m"} 5"#,
                #"{method="GET", route="/orders", service="api", window="5m"} 2"#,
                #"{method="GET", route="/users", service="api", window="5m"} 5"#,
                #"{method="POST", route="/users", service="api", window="5m"} 4"#,
            ]
        ),
        (
            #"clamp_max(opsight_service_request_rate{service="web"}, NaN)"#,
            [#"{service="web", window="1h"} NaN"#, #"{service="web", window="5m"} NaN"#]
        ),
        (
            #"clamp_min(opsight_service_request_rate{service="web"}, -Inf)"#,
            [#"{service="web", window="1h"} 20"#, #"{service="web", window="5m"} 16"#]
        ),
        (
            #"clamp_min(opsight_request_error_ratio{service="web"} / 0, Inf)"#,
            [
                #"{method="GET", route="/", service="web", window="1h"} +Inf"#,
                #"{method="GET", route="/", service="web", window="5m"} +Inf"#,
            ]
        ),
        ("clamp_max(nonexistent, 1)", []),
        ("absent(nonexistent_metric)", ["{} 1"]),
        (#"absent(opsight_service_error_ratio{service="api"})"#, []),
        (
            #"absent(opsight_service_error_ratio{service="checkout", window="5m"})"#,
            [#"{service="checkout", window="5m"} 1"#]
        ),
        (
            #"absent(nonexistent{service="a", route=~"/x.*", window="5m", window="1h"})"#,
            [#"{service="a"} 1"#]
        ),
        (#"absent(nonexistent{job!="x", job="a"})"#, [#"{job="a"} 1"#]),
        (#"absent(nonexistent{job="a", job!="x"})"#, ["{} 1"]),
        (#"absent({__name__="nonexistent", job="a", empty=""})"#, [#"{job="a"} 1"#]),
        (#"absent(sum(nonexistent{service="a"}))"#, ["{} 1"]),
        (#"absent((nonexistent{service="a"}))"#, ["{} 1"]),
        (#"absent(opsight_service_error_ratio > 1)"#, ["{} 1"]),
        (#"absent(opsight_service_error_ratio > 0.05)"#, []),
    ]

    @Test(arguments: cases)
    func evaluatesFunctions(query: String, expected: [String]) async throws {
        #expect(try await Fixture.evaluate(query) == expected)
    }
}
