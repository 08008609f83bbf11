import Testing

@testable import PromQL

@Suite struct EvaluatorSetOperatorTests {
    /// `and`, `or`, `unless` → result lines, computed by hand. Samples keep their names and values.
    static let cases: [(String, [String])] = [
        (
            "opsight_service_error_ratio and opsight_service_request_rate > 15",
            [
                #"{__name__="opsight_service_error_ratio", service="api", window="1h"} 0.015625"#,
                #"{__name__="opsight_service_error_ratio", service="web", window="1h"} 0.0078125"#,
                #"{__name__="opsight_service_error_ratio", service="web", window="5m"} 0.0625"#,
            ]
        ),
        (#"opsight_service_error_ratio{window="5m"} and opsight_service_request_rate{window="1h"}"#, []),
        (
            #"opsight_service_error_ratio{window="5m"} and on(service) opsight_service_request_rate{window="1h"} > 18"#,
            [#"{__name__="opsight_service_error_ratio", service="web", window="5m"} 0.0625"#]
        ),
        (
            #"opsight_request_rate{window="5m"} and on(service) opsight_request_error_ratio{window="5m"} > 0.2"#,
            [
                #"{__name__="opsight_request_rate", method="GET", route="/orders", service="api", window="5m"} 2"#,
                #"{__name__="opsight_request_rate", method="GET", route="/users", service="api", window="5m"} 8"#,
                #"{__name__="opsight_request_rate", method="POST", route="/users", service="api", window="5m"} 4"#,
            ]
        ),
        (
            #"opsight_service_error_ratio{window="5m"} and ignoring(window) opsight_service_error_ratio{window="1h"} > 0.01"#,
            [#"{__name__="opsight_service_error_ratio", service="api", window="5m"} 0.03125"#]
        ),
        ("opsight_service_request_rate and nonexistent", []),
        ("nonexistent and opsight_service_request_rate", []),
        (
            #"opsight_service_error_ratio{window="5m"} > 0.05 or opsight_service_request_rate{window="5m"}"#,
            [
                #"{__name__="opsight_service_error_ratio", service="web", window="5m"} 0.0625"#,
                #"{__name__="opsight_service_request_rate", service="api", window="5m"} 14"#,
            ]
        ),
        (
            #"opsight_service_error_ratio{window="5m"} > 0.05 or on(service) opsight_service_request_rate"#,
            [
                #"{__name__="opsight_service_error_ratio", service="web", window="5m"} 0.0625"#,
                #"{__name__="opsight_service_request_rate", service="api", window="1h"} 17.5"#,
                #"{__name__="opsight_service_request_rate", service="api", window="5m"} 14"#,
            ]
        ),
        (
            #"opsight_service_error_ratio > 1 or opsight_service_request_rate{service="web", window="5m"}"#,
            [#"{__name__="opsight_service_request_rate", service="web", window="5m"} 16"#]
        ),
        (
            #"opsight_service_request_rate{service="web", window="5m"} or nonexistent"#,
            [#"{__name__="opsight_service_request_rate", service="web", window="5m"} 16"#]
        ),
        (
            "opsight_service_error_ratio unless opsight_service_error_ratio > 0.02",
            [
                #"{__name__="opsight_service_error_ratio", service="api", window="1h"} 0.015625"#,
                #"{__name__="opsight_service_error_ratio", service="web", window="1h"} 0.0078125"#,
            ]
        ),
        (
            "opsight_service_request_rate unless on(service) opsight_service_error_ratio > 0.05",
            [
                #"{__name__="opsight_service_request_rate", service="api", window="1h"} 17.5"#,
                #"{__name__="opsight_service_request_rate", service="api", window="5m"} 14"#,
            ]
        ),
        (
            #"opsight_service_request_rate{service="web", window="5m"} unless opsight_service_error_ratio > 1"#,
            [#"{__name__="opsight_service_request_rate", service="web", window="5m"} 16"#]
        ),
        ("nonexistent unless opsight_service_request_rate", []),
        // Precedence: `and` binds tighter than `or`.
        (
            #"opsight_service_request_rate{window="5m"} > 15 or opsight_service_request_rate{window="1h"} and opsight_service_error_ratio{window="1h"} > 0.01"#,
            [
                #"{__name__="opsight_service_request_rate", service="api", window="1h"} 17.5"#,
                #"{__name__="opsight_service_request_rate", service="web", window="5m"} 16"#,
            ]
        ),
    ]

    @Test(arguments: cases)
    func evaluatesSetOperators(query: String, expected: [String]) async throws {
        #expect(try await Fixture.evaluate(query) == expected)
    }
}
