import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Every read endpoint, sent each class of bad parameter (SPEC §7): non-finite, ±1e300, Int64 max, zero and negative
/// steps, reversed ranges, huge limits, deep nesting. Each gets a 400 that names the parameter, in its endpoint's
/// error shape, and the server keeps answering.
@Suite struct HostileParameterTests {
    static let deep = String(repeating: "(", count: 200_000) + "1" + String(repeating: ")", count: 200_000)
    static let minus = String(repeating: "-", count: 200_000) + "1"

    /// (path and query, the parameter the answer must name).
    static let cases: [(String, String)] = [
        ("/api/v1/services?time=1e300", "time"),
        ("/api/v1/services?time=-1e300", "time"),
        ("/api/v1/services?time=nan", "time"),
        ("/api/v1/services?time=inf", "time"),
        ("/api/v1/services?time=9223372036854775807", "time"),
        ("/api/v1/services?window=1000000000y", "window"),
        ("/api/v1/services?window=-5m", "window"),
        ("/api/v1/services?window=0s", "window"),
        ("/api/v1/services?window=15s", "window"),
        ("/api/v1/latency?service=a&time=9223372036854775807", "time"),
        ("/api/v1/latency?service=a&q=inf", "q"),
        ("/api/v1/latency?service=a&q=1e300", "q"),
        ("/api/v1/latency?service=a&q=nan", "q"),
        ("/api/v1/latency?service=a&queue=q&job=j&metric=x", "metric"),
        ("/api/v1/services/a/routes?time=-9223372036854775808", "time"),
        ("/api/v1/jobs?time=1e300", "time"),
        ("/api/v1/timeseries?service=a&metric=request_rate&from=0&to=4102444800&step=1", "step"),
        ("/api/v1/timeseries?service=a&metric=request_rate&from=0&to=100&step=inf", "step"),
        ("/api/v1/timeseries?service=a&metric=request_rate&from=0&to=100&step=0", "step"),
        ("/api/v1/timeseries?service=a&metric=request_rate&from=0&to=100&step=-10", "step"),
        ("/api/v1/timeseries?service=a&metric=request_rate&from=200&to=100", "from"),
        ("/api/v1/timeseries?service=a&metric=request_rate&from=-1e300&to=100", "from"),
        ("/api/v1/timeseries?service=a&metric=request_rate&to=1e300", "to"),
        ("/api/v1/events?from=-1e300", "from"),
        ("/api/v1/events?to=1e300", "to"),
        ("/api/v1/events?from=200&to=100", "from"),
        ("/api/v1/events?limit=99999999999999999999", "limit"),
        ("/api/v1/events?limit=0", "limit"),
        ("/api/v1/events?cursor=%00%00", "cursor"),
        ("/api/v1/events?service=a%00b", "service"),
        ("/api/v1/events?route=%00", "route"),
        ("/api/v1/events?status_class=9xx", "status_class"),
        ("/api/v1/funnels/journey?window=1e300", "window"),
        ("/api/v1/funnels/journey?time=1e300", "time"),
        ("/api/v1/notifications?limit=1000000000", "limit"),
        ("/api/v1/alerts/history?limit=-1", "limit"),
        ("/api/v1/rules?type=x", "type"),
        ("/api/v1/query?query=up&time=1e300", "time"),
        ("/api/v1/query?query=up&time=9223372036854775807", "time"),
        ("/api/v1/query_range?query=up&start=0&end=1e300&step=1", "end"),
        ("/api/v1/query_range?query=up&start=0&end=100&step=inf", "step"),
        ("/api/v1/query_range?query=up&start=0&end=100&step=0", "step"),
        ("/api/v1/query_range?query=up&start=0&end=100&step=-1", "step"),
        ("/api/v1/query_range?query=up&start=0&end=4102444800&step=1", "step"),
        ("/api/v1/query_range?query=up&start=100&end=0&step=1", "end"),
        ("/api/v1/series", "match[]"),
        ("/api/v1/labels?end=1e300", "end"),
        ("/api/v1/label/service/values?end=nan", "end"),
        (
            "/api/v1/query?query=" + String(repeating: "(", count: 300) + "1" + String(repeating: ")", count: 300),
            "query"
        ),
        ("/api/v1/query?query=" + String(repeating: "-", count: 5_000) + "1", "query"),
        ("/api/v1/query?query=x%7Ba%3D~%22(%22%7D", "query"),
    ]

    @Test(.timeLimit(.minutes(5))) func everyBadParameterGetsA400NamingIt() async throws {
        try await TestAPI().run { client in
            for (uri, parameter) in Self.cases {
                let start = ContinuousClock.now
                let r = try await client.execute(uri: uri, method: .get, headers: TestAPI.read)
                // A guard against work that grows with the value (a loop to 1e300), not a benchmark: the tests share
                // two cores and the cooperative pool with every other suite (35.8 s once, queued), and the
                // end-to-end test holds the real binary to 2 s.
                #expect(ContinuousClock.now - start < .seconds(90), "\(uri) took too long")
                #expect(r.status == .badRequest, "\(uri): \(r.status)")
                let body = json(r.body)
                if uri.hasPrefix("/api/v1/query") || uri.hasPrefix("/api/v1/series") || uri.hasPrefix("/api/v1/label") {
                    #expect(
                        body["status"] as? String == "error" && body["errorType"] as? String == "bad_data", "\(uri)")
                    #expect(
                        (body["error"] as? String)?.contains(parameter) == true || parameter == "query",
                        "\(uri): \(body)")
                } else {
                    let error = body["error"] as? [String: Any]
                    let details = error?["details"] as? [String: String]
                    #expect(details?["parameter"] == parameter, "\(uri): \(body)")
                    #expect((error?["message"] as? String)?.isEmpty == false)
                }
            }
            // Still answering after all of them.
            let r = try await client.execute(uri: "/api/v1/services", method: .get, headers: TestAPI.read)
            #expect(r.status == .ok)
        }
    }

    /// The same hostile queries through POST bodies, as Grafana sends them.
    @Test(arguments: [deep, minus]) func deepQueriesInFormBodiesAreRefused(query: String) async throws {
        try await TestAPI().run { client in
            let body = "query=" + (query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            let r = try await client.execute(
                uri: "/api/v1/query", method: .post,
                headers: TestAPI.read.merging([.contentType: "application/x-www-form-urlencoded"]),
                body: ByteBuffer(string: body))
            // 400 for the nesting, or 413 when the encoded body passes 1 MiB; never a crash.
            #expect(r.status == .badRequest || r.status == .contentTooLarge, "\(r.status)")
            #expect(json(r.body)["errorType"] as? String == "bad_data")
        }
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var out = self
        for field in other { out[field.name] = field.value }
        return out
    }
}
