import Foundation
import Testing

/// SPEC §4 and §7 on bad input: per-line rejection with 1-based line numbers beside accepted good lines,
/// 413 for bodies over 16 MiB (also after gunzip), 400 for broken gzip, 401/403 in the ops error shape, and
/// `X-Request-ID` on every response.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct BadInputTests {
    @Test func mixedBodyAcceptsGoodLinesAndNamesEveryBadOne() async throws {
        try await withOpsightServer("bad-lines") { server, card in
            let service = "bad-input-\(E2EEnvironment.randomID(6))"
            let now = E2EEnvironment.nowMs
            func request(_ status: Int, _ extra: String = "") -> String {
                #"{"ts":\#(now),"service":"\#(service)","route":"/bad-input","method":"POST","status":\#(status),"duration_ms":5\#(extra)}"#
            }
            func logLine(bytes: Int) -> [UInt8] {
                let head = Array(#"{"service":"\#(service)","level":"info","msg":""#.utf8)
                return head + Array(repeating: UInt8(ascii: "b"), count: bytes - head.count - 2) + Array(#""}"#.utf8)
            }
            let s = service
            let rm = #""route":"/bad-input","method":"POST""#
            // Each line's bytes and the expected outcome: "ok", "blank", or a word its error must contain ("" any).
            let lines: [([UInt8], String)] = [
                // 1
                (Array(request(200).utf8), "ok"),
                // 2: malformed JSON
                (Array(#"{"service":"\#(s)","status":200,"#.utf8), ""),
                // 3: invalid UTF-8 inside a string
                (
                    Array(#"{"service":"\#(s)",\#(rm),"status":200,"duration_ms":1,"note":""#.utf8) + [
                        0xFF, 0xFE, 0x41, 0x22, 0x7D,
                    ], ""
                ),
                // 4
                ([], "blank"),
                // 5: CRLF ending
                (Array(#"{"ts":\#(now),"service":"\#(s)","level":"info","msg":"ok"}"#.utf8) + [0x0D], "ok"),
                // 6: over 64 KiB
                (logLine(bytes: 70_000), ""),
                // 7: wrong type
                (Array(#"{"service":"\#(s)",\#(rm),"status":"x","duration_ms":3}"#.utf8), "status"),
                // 8: no service
                (Array(#"{"ts":\#(now),\#(rm),"status":200,"duration_ms":3}"#.utf8), "service"),
                // 9: an hour in the future
                (
                    Array(#"{"ts":\#(now + 3_600_000),"service":"\#(s)",\#(rm),"status":200,"duration_ms":3}"#.utf8),
                    "ts"
                ),
                // 10: whitespace only
                (Array("   \t".utf8), "blank"),
                // 11: CRLF ending
                (Array(request(503).utf8) + [0x0D], "ok"),
                // 12: older than the 24 h maximum age
                (
                    Array(
                        #"{"ts":\#(now - 25 * 3_600_000),"service":"\#(s)",\#(rm),"status":200,"duration_ms":3}"#.utf8),
                    "ts"
                ),
                // 13: wrong type
                (
                    Array(
                        #"{"ts":\#(now),"service":"\#(s)","kind":"request",\#(rm),"status":200,"duration_ms":"fast"}"#
                            .utf8), "duration"
                ),
                // 14: service over 128 characters
                (
                    Array(
                        #"{"ts":\#(now),"service":"\#(String(repeating: "s", count: 129))","level":"info","msg":"x"}"#
                            .utf8), "service"
                ),
                // 15: negative duration
                (Array(#"{"ts":\#(now),"service":"\#(s)",\#(rm),"status":200,"duration_ms":-1}"#.utf8), "duration"),
                // 16: empty service
                (Array(#"{"ts":\#(now),"service":"","level":"info","msg":"x"}"#.utf8), "service"),
                // 17
                (Array(request(404).utf8), "ok"),
                // 18: not an object
                (Array("[1,2]".utf8), ""),
                // 19: not a time
                (Array(#"{"ts":"yesterday","service":"\#(s)","level":"info","msg":"x"}"#.utf8), "ts"),
                // 20: exactly 64 KiB
                (logLine(bytes: 65_536), "ok"),
                // 21: one byte over
                (logLine(bytes: 65_537), "65536"),
                // 22: 4 minutes ahead is within the 5 minutes allowed
                (Array(#"{"ts":\#(now + 240_000),"service":"\#(s)","level":"warn","msg":"ahead"}"#.utf8), "ok"),
                // 23: the last line, without a newline
                (Array(request(200, #","extra":{"nested":[1,{"a":null}]}"#).utf8), "ok"),
            ]
            var body: [UInt8] = []
            for (i, line) in lines.enumerated() {
                body += line.0
                if i < lines.count - 1 { body.append(0x0A) }
            }
            let r = try await server.client.ingest(body)
            try #require(r.status == 200, "HTTP \(r.status): \(r.text.prefix(500))")
            card.check(r.header("X-Request-ID")?.isEmpty == false, "200 ingest answer without X-Request-ID")
            let answer = try r.decode(IngestAnswer.self)
            let bad = lines.enumerated().filter { !["ok", "blank"].contains($0.element.1) }
            card.equal(answer.accepted, lines.filter { $0.1 == "ok" }.count, "accepted")
            card.equal(answer.rejected, bad.count, "rejected")
            card.equal(
                answer.errors.map(\.line), bad.map { $0.offset + 1 },
                "line numbers (1-based, blank lines counted) of the errors")
            for (index, line) in bad where !line.1.isEmpty {
                let error = answer.errors.first { $0.line == index + 1 }?.error ?? ""
                card.check(
                    error.lowercased().contains(line.1), "line \(index + 1): error '\(error)' should name \(line.1)")
            }
            for e in answer.errors { card.check(!e.error.isEmpty, "line \(e.line): empty error message") }

            // A JSON array body numbers its elements from 1.
            let array =
                "["
                + [request(200), #"{"service":"\#(service)","status":"x","duration_ms":2}"#, request(201), "7"].joined(
                    separator: ",\n") + "]"
            let arrayAnswer = try await server.client.ingest(Array(array.utf8), contentType: "application/json")
            try #require(
                arrayAnswer.status == 200, "array body: HTTP \(arrayAnswer.status): \(arrayAnswer.text.prefix(500))")
            let arrayResult = try arrayAnswer.decode(IngestAnswer.self)
            card.equal(arrayResult.accepted, 2, "array body: accepted")
            card.equal(arrayResult.rejected, 2, "array body: rejected")
            card.equal(arrayResult.errors.map(\.line), [2, 4], "array body: element numbers of the errors")

            // Only the first 100 errors are listed; all are counted.
            let many = (1...150).map { _ in #"{"service":"\#(service)""# }.joined(separator: "\n") + "\n" + request(200)
            let manyAnswer = try await server.client.ingest(Array(many.utf8))
            try #require(manyAnswer.status == 200, "150 bad lines: HTTP \(manyAnswer.status)")
            let manyResult = try manyAnswer.decode(IngestAnswer.self)
            card.equal(manyResult.accepted, 1, "150 bad lines and a good one: accepted")
            card.equal(manyResult.rejected, 150, "150 bad lines and a good one: rejected")
            card.equal(manyResult.errors.map(\.line), Array(1...100), "150 bad lines: the first 100 errors listed")

            // The good lines are counted; none of the rejected ones (same service and route) is.
            try await eventually("the accepted requests visible") {
                let s: ServicesAnswer = try await server.client.get("/api/v1/services", query: [("window", "1h")])
                return (s[service]?.requests == 7, "requests of \(service): \(s[service]?.requests ?? 0)")
            }
            let routes: RoutesAnswer = try await server.client.get(
                "/api/v1/services/\(service)/routes", query: [("window", "1h")])
            card.equal(routes.routes.count, 1, "routes of \(service)")
            if let route = routes.routes.first {
                card.equal(route.route, "/bad-input", "route")
                card.equal(route.method, "POST", "method")
                card.equal(route.requests, 7, "requests (4 + 2 from the array + 1)")
                card.equal(route.errors, 1, "errors (the 503)")
                card.equal(route.clientErrors, 1, "client_errors (the 404)")
            }
        }
    }

    @Test func oversizedAndBrokenBodiesAreRefusedAndTheServerStaysUp() async throws {
        try await withOpsightServer("bad-bodies") { server, card in
            let limit = 16 << 20
            let tag = E2EEnvironment.randomID(6)
            func lines(service: String, over bytes: Int) -> [UInt8] {
                let line =
                    Array(
                        #"{"service":"\#(service)","route":"/big","method":"POST","status":200,"duration_ms":1}"#.utf8)
                    + [0x0A]
                var out: [UInt8] = []
                out.reserveCapacity(bytes + line.count)
                while out.count <= bytes { out += line }
                return out
            }

            // Over 16 MiB as sent.
            let big = "too-big-\(tag)"
            let tooLarge = try await server.client.ingest(lines(service: big, over: limit), timeout: .seconds(60))
            card.equal(tooLarge.status, 413, "body over 16 MiB: status")
            try Self.expectErrorShape(tooLarge, "body over 16 MiB", card)

            // A gzip bomb: ~100 KB that inflates past 16 MiB.
            let bomb = "gzip-bomb-\(tag)"
            let inflated = lines(service: bomb, over: limit + 1024)
            let compressed = try OpsightClient.gzip(inflated)
            card.check(compressed.count < 1 << 20, "the bomb should be small, is \(compressed.count) bytes")
            let bombAnswer = try await server.client.ingest(inflated, gzip: true, timeout: .seconds(60))
            card.equal(bombAnswer.status, 413, "gzip body over 16 MiB after decompression: status")
            try Self.expectErrorShape(bombAnswer, "gzip bomb", card)
            let health = try await server.client.request(.get, "/healthz", token: nil)
            card.equal(health.status, 200, "/healthz after the gzip bomb")

            // Just under the limit is accepted, after decompression too.
            let fits = "fits-\(tag)"
            var underLimit = lines(service: fits, over: limit - 200)
            while underLimit.count > limit { underLimit.removeLast(underLimit.count - limit) }
            if let lastNewline = underLimit.lastIndex(of: 0x0A) { underLimit.removeSubrange((lastNewline + 1)...) }
            let fitsAnswer = try await server.client.ingest(underLimit, gzip: true, timeout: .seconds(60))
            card.equal(fitsAnswer.status, 200, "gzip body of \(underLimit.count) bytes (≤ 16 MiB) after decompression")
            let fitsCount = underLimit.filter { $0 == 0x0A }.count
            if fitsAnswer.status == 200 {
                card.equal(
                    try fitsAnswer.decode(IngestAnswer.self).accepted, fitsCount,
                    "lines of the body just under the limit")
            }

            // Not gzip at all, and a truncated gzip stream.
            let good = Array(#"{"service":"bad-gzip-\#(tag)","level":"info","msg":"x"}"#.utf8) + [0x0A]
            let notGzip = try await server.client.request(
                .post, "/v1/ingest", token: server.opsToken,
                headers: [("Content-Encoding", "gzip"), ("Content-Type", "application/x-ndjson")], body: good)
            card.equal(notGzip.status, 400, "invalid gzip: status")
            try Self.expectErrorShape(notGzip, "invalid gzip", card)
            // A gzip stream cut in half (no trailer): invalid gzip too; accepting its first half would make a
            // client's retry of the batch count those lines twice.
            let cut = Array(#"{"service":"cut-gzip-\#(tag)","level":"info","msg":"x"}"#.utf8) + [0x0A]
            let full = try OpsightClient.gzip(Array(repeating: cut, count: 2_000).flatMap { $0 })
            let truncated = try await server.client.request(
                .post, "/v1/ingest", token: server.opsToken,
                headers: [("Content-Encoding", "gzip"), ("Content-Type", "application/x-ndjson")],
                body: Array(full.prefix(full.count / 2)))
            card.equal(truncated.status, 400, "truncated gzip: status")
            try Self.expectErrorShape(truncated, "truncated gzip", card)

            // Nothing of the refused bodies was accepted; the one that fit was. Stores take the log in order, so
            // once a sentinel sent last is visible, whatever was accepted before it is too.
            let sentinel = "sentinel-\(tag)"
            let sentinelAnswer = try await server.client.ingest(
                Array(#"{"service":"\#(sentinel)","route":"/s","method":"GET","status":200,"duration_ms":1}"#.utf8))
            card.equal(sentinelAnswer.status, 200, "sentinel ingest")
            try await eventually("the sentinel is visible") {
                let s: ServicesAnswer = try await server.client.get("/api/v1/services", query: [("window", "5m")])
                return (s[sentinel]?.requests == 1, "\(sentinel): \(s[sentinel]?.requests ?? 0)")
            }
            let s: ServicesAnswer = try await server.client.get("/api/v1/services", query: [("window", "5m")])
            card.equal(s[fits]?.requests, fitsCount, "requests of the body that fit")
            card.check(s[big] == nil, "a body refused with 413 must accept nothing, but \(big) is listed")
            card.check(s[bomb] == nil, "a gzip bomb refused with 413 must accept nothing, but \(bomb) is listed")
            card.check(s["bad-gzip-\(tag)"] == nil, "a body refused with 400 must accept nothing")
            card.check(
                s["cut-gzip-\(tag)"] == nil, "a truncated gzip body must accept nothing, but cut-gzip-\(tag) is listed")
            let health2 = try await server.client.request(.get, "/healthz", token: nil)
            card.equal(health2.status, 200, "/healthz at the end")
        }
    }

    @Test func tokensScopesAndRequestIDs() async throws {
        try await withOpsightServer("auth") { server, card in
            let body = Array(#"{"service":"auth-check","level":"info","msg":"x"}"#.utf8)
            let ndjson = [("Content-Type", "application/x-ndjson")]

            let anonymous = try await server.client.request(
                .post, "/v1/ingest", token: nil, headers: ndjson, body: body)
            card.equal(anonymous.status, 401, "ingest without a token")
            let shape = try Self.expectErrorShape(anonymous, "no token", card)
            let generated = anonymous.header("X-Request-ID") ?? ""
            card.check(!generated.isEmpty, "a 401 without X-Request-ID header")
            card.equal(shape?.error.requestID, generated, "error.requestID equals the X-Request-ID header")

            let wrong = try await server.client.request(.post, "/v1/ingest", token: "nope", headers: ndjson, body: body)
            card.equal(wrong.status, 401, "ingest with an unknown token")
            try Self.expectErrorShape(wrong, "unknown token", card)

            let readOnly = try await server.client.request(
                .post, "/v1/ingest", token: server.readToken, headers: ndjson, body: body)
            card.equal(readOnly.status, 403, "ingest with a read-only token")
            try Self.expectErrorShape(readOnly, "read-only token", card)

            let readAnonymous = try await server.client.request(.get, "/api/v1/services?window=5m", token: nil)
            card.equal(readAnonymous.status, 401, "services without a token")
            try Self.expectErrorShape(readAnonymous, "services without a token", card)

            // X-Request-ID is echoed when given: on success and on errors.
            let id = "e2e-\(E2EEnvironment.randomID(12))"
            let ok = try await server.client.request(
                .get, "/api/v1/services?window=5m", token: server.readToken, headers: [("X-Request-ID", id)])
            card.equal(ok.status, 200, "services with the read token")
            card.equal(ok.header("X-Request-ID"), id, "X-Request-ID echoed on a 200")
            let denied = try await server.client.request(
                .post, "/v1/ingest", token: server.readToken, headers: ndjson + [("X-Request-ID", id)], body: body)
            card.equal(denied.header("X-Request-ID"), id, "X-Request-ID echoed on a 403")
            card.equal(try? denied.decode(ErrorAnswer.self).error.requestID, id, "error.requestID is the given id")
            let ingested = try await server.client.ingest(body, headers: [("X-Request-ID", id)])
            card.equal(ingested.status, 200, "ingest with the ops token")
            card.equal(ingested.header("X-Request-ID"), id, "X-Request-ID echoed on an ingest 200")
            let two = try await server.client.request(.get, "/healthz", token: nil)
            let three = try await server.client.request(.get, "/healthz", token: nil)
            card.check(
                two.header("X-Request-ID") != nil && two.header("X-Request-ID") != three.header("X-Request-ID"),
                "each response gets its own generated X-Request-ID")
        }
    }

    /// The ops error shape `{"error": {"code", "message", "details", "request_id"}}` with JSON content type.
    @discardableResult
    static func expectErrorShape(_ r: HTTPResult, _ what: String, _ card: Scorecard) throws -> ErrorAnswer? {
        card.check(r.header("X-Request-ID")?.isEmpty == false, "\(what): no X-Request-ID header")
        card.check(
            r.header("Content-Type")?.hasPrefix("application/json") == true,
            "\(what): Content-Type \(r.header("Content-Type") ?? "none")")
        do {
            let e = try r.decode(ErrorAnswer.self)
            card.check(!e.error.code.isEmpty && !e.error.message.isEmpty, "\(what): empty code or message")
            card.equal(e.error.requestID, r.header("X-Request-ID") ?? "", "\(what): error.requestID")
            return e
        } catch {
            card.fail("\(what): \(error)")
            return nil
        }
    }
}
