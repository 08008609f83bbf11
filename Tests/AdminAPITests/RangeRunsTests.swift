import Hummingbird
import PromQL
import Testing

@testable import AdminAPI

/// How many runs side by side a range query alone gets: one per core (at most four) when each run's first whole
/// window is at most a quarter of the span, never for a selector without one window named.
@Suite struct RangeRunsTests {
    @Test func runsFollowTheWidestWindowAgainstTheSpan() throws {
        let hour: Int64 = 3_600_000
        let cases: [(String, Int64, Int, Int)] = [
            (#"max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})"#, hour, 2, 2),
            (#"max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})"#, hour, 8, 4),
            (#"max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})"#, hour, 1, 1),
            (#"opsight_service_request_rate{window="15m"}"#, hour, 4, 2),
            (#"opsight_service_request_rate{window="1h"}"#, hour, 2, 1),
            (#"opsight_service_request_rate{window="1h"}"#, 24 * hour, 2, 2),
            (
                #"opsight_request_rate{window="5m"} * on(service, route, method) opsight_request_error_ratio{window="1d"}"#,
                hour, 2, 1
            ),
            (
                #"opsight_request_rate{window="5m"} * on(service, route, method) opsight_request_error_ratio{window="5m"}"#,
                hour, 2, 2
            ),
            (#"opsight_job_failure_ratio"#, hour, 2, 1),
            (#"opsight_request_rate{window=~"5m"}"#, hour, 2, 1),
            (#"opsight_requests_total{window=""}"#, hour, 2, 1),
            (#"opsight_request_rate{window="0s"}"#, hour, 2, 1),
            (#"opsight_request_rate{window="292277026y"}"#, hour, 4, 1),
            (#"abs(-opsight_request_rate{window="5m"})"#, hour, 2, 2),
            ("1 + 1", hour, 2, 2),
            (#"opsight_request_rate{window="5m"}"#, 0, 2, 1),
        ]
        for (query, span, cores, runs) in cases {
            #expect(
                PromAPIController<BasicRequestContext>.runs(for: try Parser.parse(query), span: span, cores: cores)
                    == runs,
                "\(query) over \(span) ms on \(cores) cores")
        }
    }
}
