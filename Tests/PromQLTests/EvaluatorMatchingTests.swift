import Testing

@testable import PromQL

@Suite struct EvaluatorMatchingTests {
    /// One-to-one vector/vector operations → result lines, computed by hand.
    static let cases: [(String, [String])] = [
        (
            #"opsight_request_rate{window="5m"} * opsight_request_error_ratio{window="5m"}"#,
            [
                #"{method="GET", route="/", service="web", window="5m"} 0"#,
                #"{method="GET", route="/orders", service="api", window="5m"} 0.5"#,
                #"{method="GET", route="/users", service="api", window="5m"} 0.5"#,
                #"{method="POST", route="/users", service="api", window="5m"} 0.0625"#,
            ]
        ),
        (
            #"opsight_request_rate{window="5m"} / opsight_request_error_ratio{window="5m"}"#,
            [
                #"{method="GET", route="/", service="web", window="5m"} +Inf"#,
                #"{method="GET", route="/orders", service="api", window="5m"} 8"#,
                #"{method="GET", route="/users", service="api", window="5m"} 128"#,
                #"{method="POST", route="/users", service="api", window="5m"} 256"#,
            ]
        ),
        (
            #"opsight_request_error_ratio{window="5m"} / opsight_request_error_ratio{window="5m"}"#,
            [
                #"{method="GET", route="/", service="web", window="5m"} NaN"#,
                #"{method="GET", route="/orders", service="api", window="5m"} 1"#,
                #"{method="GET", route="/users", service="api", window="5m"} 1"#,
                #"{method="POST", route="/users", service="api", window="5m"} 1"#,
            ]
        ),
        // All labels but the name must agree: the windows differ, so nothing matches.
        (#"opsight_request_error_ratio{window="5m"} > opsight_request_error_ratio{window="1h"}"#, []),
        (
            #"opsight_request_error_ratio{window="5m"} > ignoring(window) opsight_request_error_ratio{window="1h"}"#,
            [
                #"{__name__="opsight_request_error_ratio", method="GET", route="/orders", service="api"} 0.25"#,
                #"{__name__="opsight_request_error_ratio", method="GET", route="/users", service="api"} 0.0625"#,
                #"{__name__="opsight_request_error_ratio", method="POST", route="/users", service="api"} 0.015625"#,
            ]
        ),
        (
            #"opsight_request_error_ratio{window="5m"} > bool ignoring(window) opsight_request_error_ratio{window="1h"}"#,
            [
                #"{method="GET", route="/", service="web"} 0"#, #"{method="GET", route="/orders", service="api"} 1"#,
                #"{method="GET", route="/users", service="api"} 1"#,
                #"{method="POST", route="/users", service="api"} 1"#,
            ]
        ),
        (
            #"opsight_service_error_ratio{window="5m"} - on(service) opsight_service_error_ratio{window="1h"}"#,
            [#"{service="api"} 0.015625"#, #"{service="web"} 0.0546875"#]
        ),
        (
            "opsight_service_error_ratio * on(service, window) opsight_service_request_rate",
            [
                #"{service="api", window="1h"} 0.2734375"#, #"{service="api", window="5m"} 0.4375"#,
                #"{service="web", window="1h"} 0.15625"#, #"{service="web", window="5m"} 1"#,
            ]
        ),
        (
            "opsight_service_error_ratio == on(__name__, service, window) opsight_service_error_ratio",
            [
                #"{__name__="opsight_service_error_ratio", service="api", window="1h"} 0.015625"#,
                #"{__name__="opsight_service_error_ratio", service="api", window="5m"} 0.03125"#,
                #"{__name__="opsight_service_error_ratio", service="web", window="1h"} 0.0078125"#,
                #"{__name__="opsight_service_error_ratio", service="web", window="5m"} 0.0625"#,
            ]
        ),
        (
            #"opsight_service_error_ratio{service="api",window="5m"} + on() opsight_service_request_rate{service="web",window="5m"}"#,
            ["{} 16.03125"]
        ),
        (
            #"opsight_request_latency_seconds{quantile="0.95"} * ignoring(quantile) opsight_request_rate"#,
            [
                #"{method="GET", route="/", service="web", window="5m"} 8"#,
                #"{method="GET", route="/orders", service="api", window="5m"} 8"#,
                #"{method="GET", route="/users", service="api", window="5m"} 48"#,
                #"{method="POST", route="/users", service="api", window="5m"} 6"#,
            ]
        ),
        // The comparison filters before the uniqueness check, so the many api routes do not clash.
        (
            #"opsight_request_rate{window="5m"} >= on(service) opsight_service_request_rate{window="5m"}"#,
            [#"{service="web"} 16"#]
        ),
        (#"opsight_request_rate{window="5m"} > on(service) opsight_service_request_rate{window="5m"}"#, []),
        (#"nonexistent / on(service) opsight_request_rate"#, []),
        (#"opsight_service_request_rate / on(service) nonexistent"#, []),
    ]

    @Test(arguments: cases)
    func matchesOneToOne(query: String, expected: [String]) async throws {
        #expect(try await Fixture.evaluate(query) == expected)
    }

    static let duplicates: [(String, String)] = [
        (
            #"opsight_service_request_rate{window="5m"} / on(service) opsight_request_rate{window="5m"}"#,
            #"1:43: found duplicate series for the match group {service="api"} on the right hand-side of the operation: "#
                + #"[{__name__="opsight_request_rate", method="GET", route="/users", service="api", window="5m"}, "#
                + #"{__name__="opsight_request_rate", method="GET", route="/orders", service="api", window="5m"}]"#
                + ";many-to-many matching not allowed: matching labels must be unique on one side"
        ),
        (
            #"opsight_request_rate{window="5m"} / on(service) opsight_service_request_rate{window="5m"}"#,
            "1:35: multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
        ),
        (
            #"opsight_request_rate{window="5m"} >= bool on(service) opsight_service_request_rate{window="5m"}"#,
            "1:35: multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
        ),
        (
            #"opsight_service_error_ratio + ignoring(window) opsight_service_request_rate"#,
            #"1:29: found duplicate series for the match group {service="api"} on the right hand-side of the operation: "#
                + #"[{__name__="opsight_service_request_rate", service="api", window="5m"}, "#
                + #"{__name__="opsight_service_request_rate", service="api", window="1h"}]"#
                + ";many-to-many matching not allowed: matching labels must be unique on one side"
        ),
    ]

    @Test(arguments: duplicates)
    func rejectsDuplicateMatchGroups(query: String, expected: String) async {
        #expect(await Fixture.evaluationError(query) == expected)
    }
}
