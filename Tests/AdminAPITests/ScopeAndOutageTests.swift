import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PromQL
import Testing

/// Route groups enforce scopes on every endpoint, and a store outage answers 503 `store_unavailable` in each
/// endpoint's shape.
@Suite struct ScopeAndOutageTests {
    /// Every registered endpoint and the scope it needs (nil: open).
    static let endpoints: [(HTTPRequest.Method, String, String?)] = [
        (.post, "/v1/ingest", "ingest"),
        (.get, "/api/v1/latency?service=a", "read"), (.get, "/api/v1/services", "read"),
        (.get, "/api/v1/services/a/routes", "read"), (.get, "/api/v1/jobs", "read"),
        (.get, "/api/v1/timeseries?service=a&metric=request_rate", "read"), (.get, "/metrics", "read"),
        (.get, "/api/v1/funnels", "read"), (.get, "/api/v1/funnels/journey", "read"),
        (.get, "/api/v1/query?query=1", "read"), (.post, "/api/v1/query", "read"),
        (.get, "/api/v1/query_range?query=1&start=0&end=1&step=1", "read"), (.get, "/api/v1/labels", "read"),
        (.get, "/api/v1/series?match[]=x", "read"), (.get, "/api/v1/label/a/values", "read"),
        (.get, "/api/v1/rules", "read"), (.get, "/api/v1/alerts", "read"), (.get, "/api/v1/notifications", "read"),
        (.get, "/api/v1/alerts/history", "read"), (.get, "/api/v1/silences", "read"),
        (.get, "/api/v1/silences/x", "read"), (.get, "/api/v1/events", "read"), (.get, "/api/v1/status", "read"),
        (.post, "/api/v1/rules/reload", "admin"), (.post, "/api/v1/silences", "admin"),
        (.delete, "/api/v1/silences/x", "admin"),
        (.get, "/healthz", nil), (.get, "/readyz", nil),
    ]

    @Test func everyEndpointChecksItsScope() async throws {
        try await TestAPI().run { client in
            for (method, uri, scope) in Self.endpoints {
                let none = try await client.execute(uri: uri, method: method)
                guard let scope else {
                    #expect(none.status != .unauthorized, "\(uri) is open")
                    continue
                }
                #expect(none.status == .unauthorized, "\(method) \(uri) without a token: \(none.status)")
                // A token without the scope: 403, whatever the endpoint's error shape.
                let wrong = scope == "ingest" ? TestAPI.read : TestAPI.ingest
                let forbidden = try await client.execute(uri: uri, method: method, headers: wrong)
                #expect(forbidden.status == .forbidden, "\(method) \(uri) with the wrong scope: \(forbidden.status)")
                if scope == "admin" {
                    let reader = try await client.execute(uri: uri, method: method, headers: TestAPI.read)
                    #expect(reader.status == .forbidden, "\(method) \(uri) with a read token")
                }
            }
        }
    }

    @Test func aStoreOutageIs503StoreUnavailableInBothShapes() async throws {
        let api = TestAPI()
        try await api.run { client in
            api.hot.setFailing(true)
            api.durable.setFailing(true)
            for uri in [
                "/api/v1/services", "/api/v1/latency?service=a", "/api/v1/jobs", "/api/v1/services/a/routes",
                "/api/v1/timeseries?service=a&metric=request_rate", "/api/v1/funnels/journey", "/metrics",
            ] {
                let r = try await client.execute(uri: uri, method: .get, headers: TestAPI.read)
                #expect(r.status == .serviceUnavailable, "\(uri): \(r.status)")
                #expect((json(r.body)["error"] as? [String: Any])?["code"] as? String == "store_unavailable", "\(uri)")
                #expect(r.headers[.retryAfter] != nil)
            }
            for uri in ["/api/v1/query?query=opsight_service_request_rate", "/api/v1/labels", "/api/v1/series?match[]=opsight_request_rate"] {
                let r = try await client.execute(uri: uri, method: .get, headers: TestAPI.read)
                #expect(r.status == .serviceUnavailable, "\(uri): \(r.status)")
                let body = json(r.body)
                #expect(body["errorType"] as? String == "unavailable", "\(uri): \(body)")
                #expect((body["error"] as? String)?.hasPrefix("store_unavailable") == true)
            }
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            api.hot.setFailing(false)
            api.durable.setFailing(false)
            let back = try await client.execute(uri: "/api/v1/services", method: .get, headers: TestAPI.read)
            #expect(back.status == .ok)
        }
    }

    @Test func queriesOverTheSeriesCapAre422() async throws {
        try await TestAPI().run(limits: QueryLimits(maxSeries: 3)) { client in
            // The self-metrics alone are more than three series.
            let r = try await client.execute(uri: "/api/v1/query?query=%7B__name__%3D~%22opsight_.%2B%22%7D", method: .get, headers: TestAPI.read)
            #expect(r.status == .unprocessableContent)
            #expect(json(r.body)["errorType"] as? String == "execution")
        }
    }

    @Test func errorsCarryTheRequestID() async throws {
        try await TestAPI().run { client in
            let r = try await client.execute(
                uri: "/api/v1/services?time=nan", method: .get,
                headers: TestAPI.read.merging([HTTPField.Name("X-Request-ID")!: "abc-123"]))
            #expect(r.headers[HTTPField.Name("X-Request-ID")!] == "abc-123")
            #expect((json(r.body)["error"] as? [String: Any])?["request_id"] as? String == "abc-123")
        }
    }
}
