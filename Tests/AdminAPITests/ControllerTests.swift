import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Each controller at router level over in-memory stores: answers in their documented shapes, from the same events.
@Suite struct ControllerTests {
    /// `count` requests of service `svc` at the current time, `errors` of them 500s.
    static func body(service: String, count: Int, errors: Int) -> ByteBuffer {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let lines = (0..<count).map { i in
            #"{"ts":\#(now - Int64(i)),"service":"\#(service)","route":"/r","method":"GET","status":\#(i < errors ? 500 : 200),"duration_ms":\#(i)}"#
        }
        return ByteBuffer(string: lines.joined(separator: "\n"))
    }

    static func ingest(_ client: any TestClientProtocol, service: String, count: Int, errors: Int) async throws {
        let r = try await client.execute(
            uri: "/v1/ingest", method: .post, headers: TestAPI.ingest,
            body: body(service: service, count: count, errors: errors))
        #expect(r.status == .ok)
    }

    @Test func metricsExposesEveryFamilyOnceInTheTextFormat() async throws {
        let api = TestAPI()
        try await api.run { client in
            try await Self.ingest(client, service: "svc", count: 20, errors: 2)
            // The ingest is in the WAL; the families come from the stores once flushed, so read them via PromQL too.
            let r = try await client.execute(uri: "/metrics", method: .get, headers: TestAPI.read)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: r.body)
            for family in ["opsight_ingest_events_total", "opsight_build_info", "opsight_series", "opsight_wal_bytes"] {
                let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE \(family) ") }
                #expect(types.count == 1, "\(family) typed once")
            }
            #expect(text.contains(#"opsight_ingest_events_total{outcome="accepted"} 20"#))
            // The same sample through the Prometheus-compatible API: one read path.
            let q = try await client.execute(
                uri: "/api/v1/query?query=opsight_ingest_events_total%7Boutcome%3D%22accepted%22%7D", method: .get,
                headers: TestAPI.read)
            let data = json(q.body)["data"] as? [String: Any]
            let result = (data?["result"] as? [[String: Any]])?.first
            #expect((result?["value"] as? [Any])?.last as? String == "20")
        }
    }

    /// `/metrics?window=…` keeps exactly the full exposition's lines of those windows (here the funnel's: the router's
    /// in-memory stores are not flushed to; `MetricsExpositionTests` checks the request families end to end) and every
    /// family's header; a window that is not configured or another parameter is a 400 that says which.
    @Test func metricsWindowParameterKeepsOnlyThoseWindows() async throws {
        try await TestAPI().run { client in
            func scrape(_ query: String) async throws -> (status: HTTPResponse.Status, text: String) {
                let r = try await client.execute(uri: "/metrics" + query, method: .get, headers: TestAPI.read)
                return (r.status, String(buffer: r.body))
            }
            let full = try await scrape("").text
            func lines(_ text: String, windows: [String]) -> [Substring] {
                text.split(separator: "\n").filter { line in windows.contains { line.contains(#"window="\#($0)""#) } }
            }
            func headers(_ text: String) -> [Substring] { text.split(separator: "\n").filter { $0.hasPrefix("#") } }
            let kept = lines(full, windows: ["1h", "1d"])
            #expect(kept.contains { $0.hasPrefix(#"opsight_funnel_entered{funnel="journey",window="1h"}"#) })
            #expect(!lines(full, windows: ["5m"]).isEmpty)
            for query in ["?window=1h&window=1d", "?window=1d,1h", "?window=60m&window=1d&window=1h"] {
                let (status, text) = try await scrape(query)
                #expect(status == .ok, "\(query)")
                #expect(lines(text, windows: ["1h", "1d"]) == kept, "\(query): the full exposition's 1h and 1d lines")
                #expect(lines(text, windows: ["1m", "5m", "15m", "6h"]).isEmpty, "\(query): no other window")
                #expect(headers(text) == headers(full), "\(query): every family's HELP and TYPE, in order")
                #expect(text.contains(#"opsight_series{kind="request"} 0"#))
            }
            let refused: [(String, String, String)] = [
                ("?window=2m", "window", "is not one of the configured windows (1m, 5m, 15m, 1h, 6h, 1d)"),
                ("?window=", "window", "window '' is not one"),
                ("?window=5m,", "window", "window '' is not one"),
                ("?window=5m%00", "window", #"window '5m\u{0}' is not one"#),
                ("?window=1e300", "window", "window '1e300' is not one"),
                ("?window=9223372036854775807d", "window", "is not one of the configured"),
                ("?windows=5m", "windows", "/metrics takes no parameter 'windows'; its one parameter is window"),
            ]
            for (query, parameter, message) in refused {
                let r = try await client.execute(uri: "/metrics" + query, method: .get, headers: TestAPI.read)
                #expect(r.status == .badRequest, "\(query)")
                let error = json(r.body)["error"] as? [String: Any]
                #expect((error?["message"] as? String)?.contains(message) == true, "\(query): \(error ?? [:])")
                #expect((error?["details"] as? [String: Any])?["parameter"] as? String == parameter, "\(query)")
            }
        }
    }

    @Test func funnelsListTheConfiguredOnesAndNameThemOn404() async throws {
        try await TestAPI().run { client in
            let list = json(try await client.execute(uri: "/api/v1/funnels", method: .get, headers: TestAPI.read).body)
            let funnels = list["funnels"] as? [[String: Any]]
            #expect(funnels?.first?["name"] as? String == "journey")
            #expect((funnels?.first?["steps"] as? [Any])?.count == 2)
            let missing = try await client.execute(uri: "/api/v1/funnels/nope", method: .get, headers: TestAPI.read)
            #expect(missing.status == .notFound)
            #expect(((json(missing.body)["error"] as? [String: Any])?["message"] as? String)?.contains("journey") == true)
            let one = json(try await client.execute(uri: "/api/v1/funnels/journey?window=1h", method: .get, headers: TestAPI.read).body)
            #expect(one["funnel"] as? String == "journey" && one["entered"] as? Int == 0)
        }
    }

    @Test func eventsAnswerThePageShapeAndSamplingCounters() async throws {
        try await TestAPI().run { client in
            let r = json(try await client.execute(uri: "/api/v1/events?limit=5", method: .get, headers: TestAPI.read).body)
            #expect(r["events"] as? [Any] != nil)
            #expect(r.keys.contains("next_cursor"))
            #expect((r["sampling"] as? [String: Any])?["kept"] != nil)
        }
    }

    @Test func silencesAreCreatedListedAndExpiredByAdminsOnly() async throws {
        try await TestAPI().run { client in
            let now = Date()
            let f = ISO8601DateFormatter()
            let silence = """
                {"matchers":[{"name":"service","value":"svc","isRegex":false,"isEqual":true}],
                 "startsAt":"\(f.string(from: now))","endsAt":"\(f.string(from: now.addingTimeInterval(3600)))",
                 "createdBy":"test","comment":"maintenance"}
                """
            let refused = try await client.execute(
                uri: "/api/v1/silences", method: .post, headers: TestAPI.read, body: ByteBuffer(string: silence))
            #expect(refused.status == .forbidden)
            let created = try await client.execute(
                uri: "/api/v1/silences", method: .post, headers: TestAPI.admin, body: ByteBuffer(string: silence))
            #expect(created.status == .ok)
            let id = try #require(json(created.body)["silenceID"] as? String)
            let listed = try await client.execute(uri: "/api/v1/silences", method: .get, headers: TestAPI.read)
            let all = (try JSONSerialization.jsonObject(with: Data(buffer: listed.body)) as? [[String: Any]]) ?? []
            #expect(all.contains { $0["id"] as? String == id && $0["createdBy"] as? String == "test" })
            let expired = try await client.execute(uri: "/api/v1/silences/\(id)", method: .delete, headers: TestAPI.admin)
            #expect(expired.status == .ok)
            let one = json(try await client.execute(uri: "/api/v1/silences/\(id)", method: .get, headers: TestAPI.read).body)
            #expect((one["status"] as? [String: Any])?["state"] as? String == "expired")
        }
    }

    /// A body that is no silence says which field is wrong and how, a time out of range says the range, and a body
    /// over the cap is a 413 that says the cap; nothing is stored.
    @Test func silenceBodiesThatAreNoSilenceSayWhatIsWrong() async throws {
        try await TestAPI().run { client in
            let f = ISO8601DateFormatter()
            let (start, end) = (f.string(from: Date()), f.string(from: Date().addingTimeInterval(3600)))
            func silence(matcher: String = #"{"name":"a","value":"x","isRegex":false}"#, startsAt: String? = nil,
                endsAt: String? = nil, comment: String = "c") -> String {
                let from = startsAt ?? "\"" + start + "\""
                let to = endsAt ?? "\"" + end + "\""
                return #"{"matchers":["# + matcher + #"],"startsAt":"# + from + #","endsAt":"# + to
                    + #","createdBy":"t","comment":""# + comment + #""}"#
            }
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("{}", .badRequest, "missing field 'matchers'"),
                ("[]", .badRequest, "the body is not an object"),
                ("not json", .badRequest, "the body is not JSON"),
                (silence(startsAt: "1e300"), .badRequest, "field 'startsAt' is not a string"),
                (silence(matcher: #"{"name":"a","value":"x","isRegex":"yes"}"#), .badRequest,
                 "field 'matchers[0].isRegex' is not true or false"),
                (silence(matcher: #"{"value":"x","isRegex":false}"#), .badRequest, "missing field 'matchers[0].name'"),
                (silence(endsAt: #""9999-12-31T23:59:59Z""#), .badRequest,
                 "endsAt '9999-12-31T23:59:59Z' is not an RFC 3339 time from 1970 to 2100"),
                (silence(startsAt: #""yesterday""#), .badRequest, "startsAt 'yesterday' is not an RFC 3339 time"),
                (silence(comment: String(repeating: "c", count: 1 << 21)), .contentTooLarge,
                 "the silence is larger than 1 MiB; shorten its comment or matchers"),
            ]
            for (body, status, message) in cases {
                let r = try await client.execute(
                    uri: "/api/v1/silences", method: .post, headers: TestAPI.admin, body: ByteBuffer(string: body))
                #expect(r.status == status, "\(body.prefix(80))")
                let error = json(r.body)["error"] as? [String: Any]
                #expect((error?["message"] as? String)?.contains(message) == true, "\(body.prefix(80)): \(error ?? [:])")
            }
            let listed = try await client.execute(uri: "/api/v1/silences", method: .get, headers: TestAPI.read)
            #expect(String(buffer: listed.body) == "[]", "nothing stored")
        }
    }

    @Test func rulesAlertsStatusAndReloadAnswerTheirShapes() async throws {
        try await TestAPI().run { client in
            let rules = json(try await client.execute(uri: "/api/v1/rules", method: .get, headers: TestAPI.read).body)
            #expect(rules["status"] as? String == "success")
            let alerts = json(try await client.execute(uri: "/api/v1/alerts", method: .get, headers: TestAPI.read).body)
            #expect((alerts["data"] as? [String: Any])?["alerts"] as? [Any] != nil)
            let status = json(try await client.execute(uri: "/api/v1/status", method: .get, headers: TestAPI.read).body)
            #expect(status["version"] as? String == "test")
            let reload = try await client.execute(uri: "/api/v1/rules/reload", method: .post, headers: TestAPI.admin)
            #expect(json(reload.body)["message"] as? String == "reloaded")
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
        }
    }
}
