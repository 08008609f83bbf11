import Foundation
import Testing

/// SPEC §7 drill-down with the real binary: accepted events come back from `/api/v1/events` as they were sent
/// (fields that are not aggregated included), filtered and paged with the cursor.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct RawEventsTests {
    @Test func eventsComeBackAsSentFilteredAndPaged() async throws {
        try await withOpsightServer("raw-events") { server, card in
            let now = E2EEnvironment.nowMs
            let lines = (0..<50).map { i in
                #"{"ts":\#(now - Int64(i) * 1000),"service":"shop","route":"/cart","method":"POST","status":\#(i % 5 == 0 ? 502 : 200),"duration_ms":3,"order_id":"o-\#(i)","user":{"tier":"gold"}}"#
            }
            let r = try await server.client.ingest(Array((lines.joined(separator: "\n") + "\n").utf8))
            card.equal(r.status, 200, "ingest")
            let expected = Set(lines.enumerated().filter { $0.offset % 5 == 0 }.map { "o-\($0.offset)" })
            var seen: [String] = []
            try await eventually("the 5xx events are stored") {
                seen = []
                var cursor: String?
                repeat {
                    var query = [("service", "shop"), ("status_class", "5xx"), ("limit", "4")]
                    if let cursor { query.append(("cursor", cursor)) }
                    let page = try await server.client.request(
                        .get, "/api/v1/events" + OpsightClient.queryString(query), token: server.readToken)
                    guard page.status == 200,
                        let json = try JSONSerialization.jsonObject(with: Data(page.text.utf8)) as? [String: Any],
                        let events = json["events"] as? [[String: Any]]
                    else { return (false, page.text) }
                    for e in events {
                        let event = e["event"] as? [String: Any]
                        if (event?["user"] as? [String: Any])?["tier"] as? String == "gold", let id = event?["order_id"] as? String {
                            seen.append(id)
                        }
                    }
                    cursor = json["next_cursor"] as? String
                } while cursor != nil
                return (Set(seen) == expected, "\(seen.sorted())")
            }
            card.equal(seen.count, expected.count, "each 5xx event once across the pages")
            card.equal(seen, seen.sorted { Int($0.dropFirst(2))! < Int($1.dropFirst(2))! }, "newest first")
            for (query, parameter) in [("status_class=6xx", "status_class"), ("cursor=zz", "cursor"), ("limit=0", "limit")] {
                let bad = try await server.client.request(.get, "/api/v1/events?" + query, token: server.readToken)
                card.equal(bad.status, 400, "\(query) refused")
                card.check(bad.text.contains("\"parameter\":\"\(parameter)\""), "\(query) names \(parameter): \(bad.text)")
            }
        }
    }
}
