import Testing

@testable import PromQL

/// The expressions of the default alert rules (SPEC §8), parsed and evaluated on the fixture plus
/// the series they need beyond it.
@Suite struct DefaultAlertRuleTests {
    static let source: InMemorySampleSource = {
        var source = Fixture.source
        func add(_ labels: Labels, _ value: Double) { source.add(labels, value: value, at: Fixture.time - 10_000) }
        for (service, window, ratio) in [
            ("api", "30m", 0.015625), ("api", "6h", 0.0078125), ("api", "2h", 0.001953125), ("api", "1d", 0.001953125),
            ("web", "30m", 0.0078125), ("web", "6h", 0.00390625), ("web", "2h", 0.0078125), ("web", "1d", 0.00390625),
        ] {
            add(["__name__": "opsight_service_error_ratio", "service": service, "window": window], ratio)
        }
        let job = [
            "__name__": "opsight_job_failure_ratio", "service": "worker", "queue": "assessments", "window": "15m",
        ]
        add(Labels(job.merging(["job": "ai_call"]) { $1 }), 0.125)
        add(Labels(job.merging(["job": "render_report"]) { $1 }), 0.25)
        for (index, step, window, ratio) in [
            ("2", "assessment_requested", "1h", 0.75), ("2", "assessment_requested", "1d", 0.75),
            ("4", "report_viewed", "1h", 0.25), ("4", "report_viewed", "1d", 0.5),
        ] {
            add(
                [
                    "__name__": "opsight_funnel_conversion_ratio", "funnel": "assessment_journey", "index": index,
                    "step": step, "window": window,
                ], ratio)
        }
        return source
    }()

    /// (alert, expr, firing series), computed by hand.
    static let rules: [(String, String, [String])] = [
        (
            "HighErrorRatio (critical, > 5 % for 5m)",
            #"opsight_request_error_ratio{window="5m"} > 0.05"#,
            [
                #"{__name__="opsight_request_error_ratio", method="GET", route="/orders", service="api", window="5m"} 0.25"#,
                #"{__name__="opsight_request_error_ratio", method="GET", route="/users", service="api", window="5m"} 0.0625"#,
            ]
        ),
        (
            "ServiceHighErrorRatio (critical)",
            #"opsight_service_error_ratio{window="5m"} > 0.05"#,
            [#"{__name__="opsight_service_error_ratio", service="web", window="5m"} 0.0625"#]
        ),
        (
            "ElevatedErrorRatio (warning, > 2 % for 10m)",
            #"opsight_service_error_ratio{window="5m"} > 0.02"#,
            [
                #"{__name__="opsight_service_error_ratio", service="api", window="5m"} 0.03125"#,
                #"{__name__="opsight_service_error_ratio", service="web", window="5m"} 0.0625"#,
            ]
        ),
        (
            "HighLatencyP95 (critical, > 5 s)",
            #"opsight_request_latency_seconds{quantile="0.95", window="5m"} > 5"#,
            [
                #"{__name__="opsight_request_latency_seconds", method="GET", quantile="0.95", route="/users", service="api", window="5m"} 6"#
            ]
        ),
        (
            // Without ignoring(window) the two sides never match: their window labels differ.
            "ErrorBudgetBurn 14.4x as written in the brief (never fires)",
            #"(opsight_service_error_ratio{window="1h"} > 14.4 * 0.001) and (opsight_service_error_ratio{window="5m"} > 14.4 * 0.001)"#,
            []
        ),
        (
            "ErrorBudgetBurn 14.4x 1h/5m (page)",
            #"(opsight_service_error_ratio{window="1h"} > 14.4 * 0.001) and ignoring(window) (opsight_service_error_ratio{window="5m"} > 14.4 * 0.001)"#,
            [#"{__name__="opsight_service_error_ratio", service="api", window="1h"} 0.015625"#]
        ),
        (
            "ErrorBudgetBurn 6x 6h/30m (page)",
            #"(opsight_service_error_ratio{window="6h"} > 6 * 0.001) and ignoring(window) (opsight_service_error_ratio{window="30m"} > 6 * 0.001)"#,
            [#"{__name__="opsight_service_error_ratio", service="api", window="6h"} 0.0078125"#]
        ),
        (
            "ErrorBudgetBurn 3x 1d/2h (ticket)",
            #"(opsight_service_error_ratio{window="1d"} > 3 * 0.001) and ignoring(window) (opsight_service_error_ratio{window="2h"} > 3 * 0.001)"#,
            [#"{__name__="opsight_service_error_ratio", service="web", window="1d"} 0.00390625"#]
        ),
        (
            "AICallJobFailing (warning)",
            #"opsight_job_failure_ratio{queue="assessments", job="ai_call", window="15m"} > 0.1"#,
            [
                #"{__name__="opsight_job_failure_ratio", job="ai_call", queue="assessments", service="worker", window="15m"} 0.125"#
            ]
        ),
        (
            "AssessmentConversionDrop (warning)",
            #"opsight_funnel_conversion_ratio{funnel="assessment_journey", window="1h"} < ignoring(window) 0.8 * opsight_funnel_conversion_ratio{funnel="assessment_journey", window="1d"}"#,
            [
                #"{__name__="opsight_funnel_conversion_ratio", funnel="assessment_journey", index="4", step="report_viewed"} 0.25"#
            ]
        ),
    ]

    @Test(arguments: rules)
    func evaluatesDefaultAlertExpression(alert: String, expr: String, expected: [String]) async throws {
        let parsed = try Parser.parse(expr)
        #expect(parsed.type == .vector, "\(alert)")
        #expect(try Parser.parse(parsed.description).description == parsed.description, "\(alert)")
        #expect(try await Fixture.evaluate(expr, source: Self.source) == expected, "\(alert)")
    }
}
