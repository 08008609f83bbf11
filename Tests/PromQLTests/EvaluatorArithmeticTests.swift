import Testing

@testable import PromQL

@Suite struct EvaluatorArithmeticTests {
    /// Query → result lines (`{labels} value`, sorted; `scalar value`), computed by hand.
    static let cases: [(String, [String])] = [
        ("1 + 2 * 3", ["scalar 7"]),
        ("2 ^ 3 ^ 2", ["scalar 512"]),
        ("-2 ^ 2", ["scalar -4"]),
        ("(1 - 2) - 3", ["scalar -4"]),
        ("7 % 3", ["scalar 1"]),
        ("-7 % 3", ["scalar -1"]),
        ("7 % -3", ["scalar 1"]),
        ("5.5 % 2", ["scalar 1.5"]),
        ("1 / 0", ["scalar +Inf"]),
        ("-1 / 0", ["scalar -Inf"]),
        ("0 / 0", ["scalar NaN"]),
        ("5 % 0", ["scalar NaN"]),
        ("Inf - Inf", ["scalar NaN"]),
        ("0 ^ 0", ["scalar 1"]),
        ("1 == bool 1", ["scalar 1"]),
        ("1 > bool 2", ["scalar 0"]),
        ("NaN == bool NaN", ["scalar 0"]),
        ("NaN != bool NaN", ["scalar 1"]),
        ("Inf >= bool Inf", ["scalar 1"]),
        ("5m / 1m", ["scalar 5"]),
        (
            #"opsight_service_error_ratio{window="5m"} * 100"#,
            [#"{service="api", window="5m"} 3.125"#, #"{service="web", window="5m"} 6.25"#]
        ),
        (
            #"100 * opsight_service_error_ratio{window="5m"}"#,
            [#"{service="api", window="5m"} 3.125"#, #"{service="web", window="5m"} 6.25"#]
        ),
        (
            #"opsight_service_request_rate{service="api"} - 4 ^ 2 / 2"#,
            [#"{service="api", window="1h"} 9.5"#, #"{service="api", window="5m"} 6"#]
        ),
        (#"opsight_service_request_rate{service="api", window="5m"} % 4"#, [#"{service="api", window="5m"} 2"#]),
        (#"2 ^ opsight_service_request_rate{service="api", window="5m"}"#, [#"{service="api", window="5m"} 16384"#]),
        (
            #"opsight_service_request_rate{window="1h"} / 0"#,
            [#"{service="api", window="1h"} +Inf"#, #"{service="web", window="1h"} +Inf"#]
        ),
        (
            #"0 / opsight_request_error_ratio{service="web"}"#,
            [
                #"{method="GET", route="/", service="web", window="1h"} 0"#,
                #"{method="GET", route="/", service="web", window="5m"} NaN"#,
            ]
        ),
        (
            "opsight_service_error_ratio > 0.02",
            [
                #"{__name__="opsight_service_error_ratio", service="api", window="5m"} 0.03125"#,
                #"{__name__="opsight_service_error_ratio", service="web", window="5m"} 0.0625"#,
            ]
        ),
        (
            "0.02 < opsight_service_error_ratio",
            [
                #"{__name__="opsight_service_error_ratio", service="api", window="5m"} 0.03125"#,
                #"{__name__="opsight_service_error_ratio", service="web", window="5m"} 0.0625"#,
            ]
        ),
        (
            "opsight_service_error_ratio > bool 0.02",
            [
                #"{service="api", window="1h"} 0"#, #"{service="api", window="5m"} 1"#,
                #"{service="web", window="1h"} 0"#, #"{service="web", window="5m"} 1"#,
            ]
        ),
        (
            "0.02 >= bool opsight_service_error_ratio",
            [
                #"{service="api", window="1h"} 1"#, #"{service="api", window="5m"} 0"#,
                #"{service="web", window="1h"} 1"#, #"{service="web", window="5m"} 0"#,
            ]
        ),
        (
            #"opsight_service_request_rate{service="web"} == 16"#,
            [#"{__name__="opsight_service_request_rate", service="web", window="5m"} 16"#]
        ),
        (
            "opsight_service_request_rate != bool 16",
            [
                #"{service="api", window="1h"} 1"#, #"{service="api", window="5m"} 1"#,
                #"{service="web", window="1h"} 1"#, #"{service="web", window="5m"} 0"#,
            ]
        ),
        ("opsight_service_request_rate > Inf", []),
        ("opsight_service_request_rate < NaN", []),
        (
            #"-opsight_service_request_rate{service="api"}"#,
            [#"{service="api", window="1h"} -17.5"#, #"{service="api", window="5m"} -14"#]
        ),
        (
            #"+opsight_service_request_rate{service="api"}"#,
            [
                #"{__name__="opsight_service_request_rate", service="api", window="1h"} 17.5"#,
                #"{__name__="opsight_service_request_rate", service="api", window="5m"} 14"#,
            ]
        ),
        (
            #"-(opsight_service_request_rate{service="api"} > 15)"#,
            [#"{service="api", window="1h"} -17.5"#]
        ),
        ("nonexistent_metric * 2", []),
    ]

    @Test(arguments: cases)
    func evaluatesScalarAndVectorScalarOperations(query: String, expected: [String]) async throws {
        #expect(try await Fixture.evaluate(query) == expected)
    }

    /// Dropping the metric name must not make two series identical (Prometheus's check).
    static let collisions: [(String, String)] = [
        (#"{service="api", window="5m"} * 0"#, "1:30: vector cannot contain metrics with the same labelset"),
        (#"-{route="/users", window="5m", method="GET"}"#, "1:1: vector cannot contain metrics with the same labelset"),
        (
            #"abs({__name__=~"opsight_service_.*", service="web", window="1h"})"#,
            "1:1: vector cannot contain metrics with the same labelset"
        ),
        (
            #"{service="web", window="1h"} > bool 0"#,
            "1:30: vector cannot contain metrics with the same labelset"
        ),
    ]

    @Test(arguments: collisions)
    func rejectsLabelSetCollisions(query: String, expected: String) async {
        #expect(await Fixture.evaluationError(query) == expected)
    }

    @Test func keepsNameWhenComparisonFilters() async throws {
        // Comparisons without bool keep the metric name, so series of different metrics stay apart.
        let lines = try await Fixture.evaluate(#"{service="web", window="1h"} > 0"#)
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.hasPrefix("{__name__=") })
    }
}
