import Foundation
import Testing

/// The read side against the real binary (issue 11): hostile parameters never take the process down or hold up
/// ingest, and a store outage is answered 503 `store_unavailable` in each endpoint's shape, with `/readyz` naming
/// the store, until the store returns.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct ReadSideTests {
    /// Requests that must be refused (4xx) — or, for the last ones, answered (200) with no series: a selector
    /// may name a window no series has, and a chart over 130 years picks a step of its own.
    static let hostile: [String] = [
        "/api/v1/services?time=1e300", "/api/v1/latency?service=a&time=9223372036854775807",
        "/api/v1/timeseries?service=a&metric=latency&from=0&to=4102444800&step=1",
        "/api/v1/timeseries?service=a&metric=latency&step=inf", "/api/v1/events?from=-1e300&to=1e300",
        "/api/v1/query_range?query=up&start=0&end=100&step=inf", "/api/v1/query_range?query=up&start=0&end=1e300&step=1",
        "/api/v1/query?query=" + String(repeating: "(", count: 20_000) + "1" + String(repeating: ")", count: 20_000),
        "/api/v1/query?query=" + String(repeating: "-", count: 20_000) + "1",
        "/api/v1/services?window=100000000000y", "/api/v1/funnels/none?time=nan", "/api/v1/services?time=-1e300",
        // A NUL byte in a name PostgreSQL is asked for (its text cannot hold one; this was a 500).
        "/api/v1/events?service=a%00b", "/api/v1/events?route=%00",
    ]
    static let answeredEmpty: [String] = [
        "/api/v1/query?query=opsight_request_rate%7Broute%3D~%22(a%2B)%2B%24%22%7D",
        "/api/v1/query?query=opsight_request_rate%7Bwindow%3D%22100000000000y%22%7D",
        "/api/v1/timeseries?service=a&metric=latency&from=0&to=4102444800",
    ]

    @Test func hostileReadsGet4xxWhileIngestGoesOn() async throws {
        try await withOpsightServer("read-hostile") { server, card in
            let client = server.client
            let service = "hostile-\(E2EEnvironment.randomID(6))"
            let ingest = Task {
                var accepted = 0
                for i in 0..<40 {
                    let now = E2EEnvironment.nowMs
                    let body = (0..<200).map { j in
                        #"{"ts":\#(now - Int64(j)),"service":"\#(service)","route":"/r/\#(i % 3)","method":"GET","status":200,"duration_ms":\#(j)}"#
                    }.joined(separator: "\n")
                    let r = try await client.ingest(Array(body.utf8))
                    if r.status == 200 { accepted += 200 }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return accepted
            }
            for path in Self.hostile + Self.answeredEmpty {
                let start = ContinuousClock.now
                let r = try await client.request(.get, path, token: server.readToken, timeout: .seconds(10))
                let took = ContinuousClock.now - start
                let expected = Self.answeredEmpty.contains(path) ? r.status == 200 : (400..<500).contains(r.status)
                card.check(expected, "\(path.prefix(80)): \(r.status) \(r.text.prefix(200))")
                // A stall guard, not a benchmark: a refusal answers in milliseconds on a quiet machine (see the issue
                // note), but these suites share two cores; a real answer (a 130-year chart reads ~120 windows) gets
                // longer.
                let bound: Duration = Self.answeredEmpty.contains(path) ? .seconds(15) : .seconds(5)
                card.check(took < bound, "\(path.prefix(80)) took \(took)")
            }
            let accepted = try await ingest.value
            card.check(accepted == 8_000, "ingest kept accepting while the reads ran: \(accepted) of 8000")
            let health = try await client.request(.get, "/healthz", token: nil)
            card.check(health.status == 200, "the process is still up")
            try await eventually("all 8000 requests visible", timeout: .seconds(10)) {
                let r = try await client.request(.get, "/api/v1/services?window=1h", token: server.readToken)
                return (r.text.contains(#""requests":8000"#), r.text)
            }
        }
    }

    @Test func storeOutagesAre503UntilTheStoreReturns() async throws {
        let redis = try StoppableStore.redis()
        try await redis.start()
        let database = try #require(URLComponents(string: E2EEnvironment.databaseURL ?? ""))
        let proxy = try StoppableStore.forwarder(to: database.host ?? "127.0.0.1", port: database.port ?? 5432)
        try await proxy.start()
        var viaProxy = database
        viaProxy.host = "127.0.0.1"
        viaProxy.port = proxy.port
        try await withOpsightServer(
            "read-outage",
            configure: {
                $0.redisURL = "redis://127.0.0.1:\(redis.port)/0"
                $0.databaseURL = viaProxy.string
            }
        ) { server, card in
            let client = server.client
            let now = E2EEnvironment.nowMs
            let line = #"{"ts":\#(now),"service":"outage","route":"/a","method":"GET","status":200,"duration_ms":3}"#
            card.check(try await client.ingest(Array(line.utf8)).status == 200, "ingest before the outage")

            func status(_ path: String) async throws -> (Int, String) {
                let r = try await client.request(.get, path, token: server.readToken, timeout: .seconds(20))
                let code: String
                if let body = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any] {
                    code = ((body["error"] as? [String: Any])?["code"] as? String) ?? (body["errorType"] as? String ?? "")
                        + ((body["error"] as? String)?.hasPrefix("store_unavailable") == true ? "+store_unavailable" : "")
                } else {
                    code = ""
                }
                return (r.status, code)
            }
            // The paths are asked at once: a read waits up to 8 s for a PostgreSQL that is away, and asked one by one
            // they would stretch the outage (and the pool's reconnect backoff after it) past what the test is about.
            func expectUnavailable(_ paths: [String], _ store: String) async throws {
                let answers = try await withThrowingTaskGroup(of: (String, Int, String).self) { group in
                    for path in paths {
                        group.addTask {
                            let (s, code) = try await status(path)
                            return (path, s, code)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for (path, s, code) in answers {
                    card.check(s == 503, "\(store) down: \(path) answered \(s)")
                    card.check(
                        code == "store_unavailable" || code == "unavailable+store_unavailable",
                        "\(store) down: \(path) code \(code)")
                }
                let ready = try await client.request(.get, "/readyz", token: nil)
                card.check(ready.status == 503, "\(store) down: readyz \(ready.status)")
                card.check(!ready.text.contains(#""\#(store)":"ok""#), "readyz names \(store): \(ready.text)")
                // Ingest is still taken (the log holds it): a load balancer checking /readyz/ingest keeps us in.
                let forIngest = try await client.request(.get, "/readyz/ingest", token: nil)
                card.check(forIngest.status == 200, "\(store) down: readyz/ingest \(forIngest.status) \(forIngest.text)")
                let line = #"{"ts":\#(E2EEnvironment.nowMs),"service":"outage","route":"/during-\#(store)","method":"GET","status":200,"duration_ms":3}"#
                card.check(try await client.ingest(Array(line.utf8)).status == 200, "ingest while \(store) is down")
            }
            let redisReads = [
                "/api/v1/services", "/api/v1/latency?service=outage", "/api/v1/jobs", "/api/v1/services/outage/routes",
                "/api/v1/timeseries?service=outage&metric=request_rate", "/metrics",
                "/api/v1/query?query=opsight_service_request_rate", "/api/v1/series?match[]=opsight_request_rate",
                "/api/v1/labels",
            ]
            redis.stop()
            try await expectUnavailable(redisReads, "redis")
            try await redis.start()
            try await eventually("reads back after Redis returned", timeout: .seconds(20)) {
                let (s, code) = try await status("/api/v1/services")
                return (s == 200, "\(s) \(code)")
            }

            let postgresReads = [
                "/api/v1/events", "/api/v1/services?window=1d", "/api/v1/alerts/history", "/api/v1/notifications",
                "/api/v1/query?query=opsight_service_request_rate%7Bwindow%3D%226h%22%7D",
            ]
            proxy.stop()
            try await expectUnavailable(postgresReads, "postgres")
            try await proxy.start()
            try await eventually("reads back after PostgreSQL returned", timeout: .seconds(60)) {
                let (s, code) = try await status("/api/v1/events")
                return (s == 200, "\(s) \(code)")
            }
            // What was acknowledged during each outage is counted once both stores are back.
            try await eventually("the lines ingested during the outages counted", timeout: .seconds(30)) {
                let r = try await client.request(.get, "/api/v1/services/outage/routes", token: server.readToken)
                return (r.text.contains("/during-redis") && r.text.contains("/during-postgres"), r.text)
            }
            // Each read comes back on its own: the pool reconnects one connection at a time.
            for path in redisReads + postgresReads {
                try await eventually("after both stores returned: \(path)", timeout: .seconds(30)) {
                    let (s, code) = try await status(path)
                    return (s == 200, "\(s) \(code)")
                }
            }
        }
        redis.stop()
        proxy.stop()
    }

    /// A range query (its windows slid over the hot buckets from step to step) answers at every step what an instant
    /// query at that step's time answers (each window read on its own), through the real binary and Redis: requests
    /// over the last twenty minutes, steps off the 10 s grid, windows shorter and longer than the step.
    @Test func aRangeQueryAnswersWhatInstantQueriesAtItsStepsAnswer() async throws {
        try await withOpsightServer("range-steps") { server, card in
            let corpus = PromCorpus(seed: 0x0512_1405, nowMs: E2EEnvironment.nowMs)
            try await PromtoolQueryTests.ingest(corpus, into: server, card)
            try await server.waitUntilVisible(corpus)
            let end = E2EEnvironment.nowMs / 1000 - 2
            let start = end - 1_500
            let step: Int64 = 37
            func get(_ path: String) async throws -> [String: Any] {
                let r = try await server.client.request(.get, path, token: server.readToken, timeout: .seconds(30))
                card.equal(r.status, 200, "\(path): \(r.text.prefix(300))")
                return ((try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any])?["data"] as? [String: Any] ?? [:]
            }
            func query(_ expr: String) -> String {
                expr.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            }
            let exprs = [
                #"sum by (service) (opsight_request_rate{window="5m"})"#,
                #"max by (service, route) (opsight_request_latency_seconds{window="1m",quantile="0.95"})"#,
                #"opsight_request_error_ratio{window="15m"}"#,
            ]
            for expr in exprs {
                // Points by label set (as JSON text) and time.
                var range: [String: [Int64: String]] = [:]
                let matrix = try await get("/api/v1/query_range?query=\(query(expr))&start=\(start)&end=\(end)&step=\(step)")
                for series in matrix["result"] as? [[String: Any]] ?? [] {
                    let labels = "\((series["metric"] as? [String: String] ?? [:]).sorted { $0.key < $1.key })"
                    for point in series["values"] as? [[Any]] ?? [] {
                        if let t = point[0] as? Double, let v = point[1] as? String { range[labels, default: [:]][Int64(t)] = v }
                    }
                }
                var points = 0
                for t in stride(from: start, through: end, by: Int(step)) {
                    let vector = try await get("/api/v1/query?query=\(query(expr))&time=\(t)")
                    var instant: [String: String] = [:]
                    for sample in vector["result"] as? [[String: Any]] ?? [] {
                        let labels = "\((sample["metric"] as? [String: String] ?? [:]).sorted { $0.key < $1.key })"
                        instant[labels] = (sample["value"] as? [Any])?[1] as? String
                    }
                    let inRange = range.compactMapValues { $0[t] }
                    card.equal(inRange, instant, "\(expr) at \(t - end) s")
                    points += instant.count
                }
                card.check(points > 40, "\(expr): the steps have data (\(points) points)")
            }
        }
    }

}

/// A query at its limits (deadline and series cap) while ingest is loaded: ingest keeps its rate, the hot flush
/// keeps its period, and the query is stopped at its deadline with 503 `timeout`.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct SlowQueryIsolationTests {
    /// Sends batches for `duration`; returns events accepted per second and the longest gap between two moves of
    /// the hot flush position seen meanwhile.
    static func load(_ server: OpsightServer, service: String, for duration: Duration) async throws -> (
        rate: Double, flushGap: Duration
    ) {
        let client = server.client
        async let gap: Duration = {
            var last: UInt64 = 0
            var lastMove = ContinuousClock.now
            var longest = Duration.zero
            let end = ContinuousClock.now + duration
            while ContinuousClock.now < end {
                let r = try await client.request(.get, "/api/v1/status", token: server.readToken)
                let wal = (try JSONSerialization.jsonObject(with: r.body) as? [String: Any])?["wal"] as? [String: Any]
                let position = (wal?["hot_position"] as? NSNumber)?.uint64Value ?? 0
                if position != last {
                    longest = max(longest, ContinuousClock.now - lastMove)
                    last = position
                    lastMove = ContinuousClock.now
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            return longest
        }()
        let start = ContinuousClock.now
        var accepted = 0
        var i = 0
        while ContinuousClock.now - start < duration {
            let now = E2EEnvironment.nowMs
            let body = (0..<500).map { j in
                #"{"ts":\#(now - Int64(j * 7)),"service":"\#(service)","route":"/r/\#((i + j) % 50)","method":"GET","status":\#(j % 20 == 0 ? 500 : 200),"duration_ms":\#(j % 97)}"#
            }.joined(separator: "\n")
            let r = try await client.ingest(Array(body.utf8))
            if r.status == 200 { accepted += 500 }
            i += 1
        }
        let seconds = Double((ContinuousClock.now - start).components.seconds)
            + Double((ContinuousClock.now - start).components.attoseconds) / 1e18
        return (Double(accepted) / seconds, try await gap)
    }

    @Test func aQueryAtItsLimitsHoldsUpNeitherIngestNorTheFlush() async throws {
        try await withOpsightServer(
            "slow-query", configure: { $0.extraConfig = "query: {timeout: 4s, max_series: 50000}\n" }
        ) { server, card in
            let service = "slow-\(E2EEnvironment.randomID(6))"
            _ = try await Self.load(server, service: service, for: .seconds(2))  // warm up
            let quiet = try await Self.load(server, service: service, for: .seconds(6))
            let end = E2EEnvironment.nowMs / 1000
            let heavy =
                "/api/v1/query_range?query=" + "max%20by%20(route)%20(opsight_request_latency_seconds%7Broute%3D~%22.*r.*%22%7D)"
                + "&start=\(end - 10_000)&end=\(end)&step=1"
            let queries = Task {
                var answers: [(Int, String, Duration)] = []
                let stop = ContinuousClock.now + .seconds(8)
                while ContinuousClock.now < stop {
                    let start = ContinuousClock.now
                    let r = try await server.client.request(.get, heavy, token: server.readToken, timeout: .seconds(20))
                    answers.append((r.status, r.text, ContinuousClock.now - start))
                }
                return answers
            }
            let busy = try await Self.load(server, service: service, for: .seconds(8))
            let answers = try await queries.value
            card.check(!answers.isEmpty, "the heavy query ran")
            for (status, text, took) in answers {
                card.check(status == 503 && text.contains("timeout"), "the heavy query is stopped: \(status) \(text.prefix(160))")
                card.check(took < .seconds(9), "answered at its 4 s deadline, not much later: \(took)")
            }
            print("slow-query: ingest \(Int(quiet.rate)) events/s quiet, \(Int(busy.rate)) with the query; longest flush gap \(quiet.flushGap) quiet, \(busy.flushGap) busy")
            card.check(busy.rate >= 0.5 * quiet.rate, "ingest keeps its rate: \(Int(busy.rate)) vs \(Int(quiet.rate)) events/s")
            // A flush queued behind the query would wait out its 4 s deadline; the flush's own period is ~0.2 s, and
            // a loaded machine stretches both phases alike.
            let allowed = max(.seconds(3), quiet.flushGap * 1.5 + .seconds(1))
            card.check(busy.flushGap < allowed, "the hot flush keeps its period: longest gap \(busy.flushGap) (quiet \(quiet.flushGap))")
        }
    }
}

/// `http.idle_timeout`: a connection that sends nothing is closed by the server, one that keeps asking is not.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct IdleConnectionTests {
    /// Seconds until the server closes a connected socket that sends nothing (nil: still open after `limit`).
    static func secondsUntilClosed(port: Int, limit: Int) -> Double? {
        guard let fd = connectLoopback(port: port) else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: limit, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let start = ContinuousClock.now
        var byte: UInt8 = 0
        // 0: the server closed the connection; -1 with EAGAIN: the limit passed with the connection open.
        let n = recv(fd, &byte, 1, 0)
        guard n == 0 else { return nil }
        let took = ContinuousClock.now - start
        return Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
    }

    @Test func idleConnectionsAreClosed() async throws {
        try await withOpsightServer("idle", configure: { $0.extraConfig = "http: {idle_timeout: 2s}\n" }) { server, card in
            let port = server.port
            let closedAfter = await Task.detached { Self.secondsUntilClosed(port: port, limit: 15) }.value
            card.check(closedAfter != nil, "an idle connection is closed by the server")
            if let closedAfter {
                card.check(closedAfter >= 1.5 && closedAfter < 12, "closed after the 2 s idle timeout: \(closedAfter) s")
            }
            // The server still answers, on a new connection: the test client's pooled connection sat idle through the
            // wait above, so the server closing it just as the client reuses it is the timeout at work (a CI run
            // failed on exactly that race: `remoteConnectionClosed`), not a fault.
            let answer = await Task.detached {
                ConnectionCapTests.rawRequest(port: port, path: "/api/v1/status", token: server.readToken)
            }.value
            card.check(answer?.hasPrefix("HTTP/1.1 200") == true, "the server still answers: \(answer?.prefix(40) ?? "nothing")")
        }
    }
}

/// `http.max_connections`: one connection over the cap is answered 503 and closed; once connections close, requests
/// are served again. Raw sockets, so no client connection pool hides which connection a request used.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct ConnectionCapTests {
    /// Sends one `Connection: close` request on a new connection and returns the status line and body (nil: no
    /// connection or no answer within 10 s).
    static func rawRequest(port: Int, path: String, token: String) -> String? {
        rawExchange(
            port: port,
            Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n".utf8))
    }

    /// Sends `request` as it is on a new connection and returns everything answered until the server closes.
    static func rawExchange(port: Int, _ request: [UInt8]) -> String? {
        guard let fd = connectLoopback(port: port) else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += chunk[..<n]
        }
        return answer.isEmpty ? nil : String(decoding: answer, as: UTF8.self)
    }

    /// What NIO's HTTP parser refuses is answered with a cause, not an empty 400: a query pasted into a URL past the
    /// 80 KiB limit gets 431 and the way around it; a malformed header gets 400 `bad_http`. The server goes on.
    @Test func requestsTheParserRefusesAreAnsweredWithTheirCause() async throws {
        try await withOpsightServer("bad-http") { server, card in
            let port = server.port
            let token = server.readToken
            let long = "/api/v1/query?query=" + String(repeating: "(", count: 45_000) + "1" + String(repeating: ")", count: 45_000)
            let oversized = await Task.detached { Self.rawRequest(port: port, path: long, token: token) }.value ?? ""
            card.check(oversized.hasPrefix("HTTP/1.1 431"), "a 90 KB request line: \(oversized.prefix(200))")
            card.check(oversized.contains("request_too_large") && oversized.contains("POST form body"), "names the way around it")
            let malformed = Array("GET /api/v1/status HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n".utf8)
            let refused = await Task.detached { Self.rawExchange(port: port, malformed) }.value ?? ""
            card.check(refused.hasPrefix("HTTP/1.1 400"), "a malformed header: \(refused.prefix(200))")
            card.check(refused.contains("bad_http") && refused.contains("application/json"), "answered in JSON with a code")
            // Good requests pipelined before a bad one are answered first, in order.
            let good = "GET /api/v1/status HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\n\r\n"
            let pipelined = Array((good + good + "GET /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n").utf8)
            let answers = await Task.detached { Self.rawExchange(port: port, pipelined) }.value ?? ""
            let statuses = answers.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
                .filter { $0.allSatisfy(\.isNumber) }
            card.check(statuses == ["200", "200", "400"], "pipelined answers in order: \(statuses)")
            // A body that stops being valid HTTP (a malformed chunk size) is the client's fault: 400, not 500.
            let chunked = Array(
                ("POST /v1/ingest HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(server.opsToken)\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n").utf8)
            let badBody = await Task.detached { Self.rawExchange(port: port, chunked) }.value ?? ""
            card.check(badBody.hasPrefix("HTTP/1.1 400") && badBody.contains("bad_http"), "a malformed chunk: \(badBody.prefix(300))")
            let r = try await server.client.request(.get, "/api/v1/status", token: token)
            card.check(r.status == 200, "the server still answers")
        }
    }

    @Test func aConnectionOverTheCapIsAnswered503AndServiceResumes() async throws {
        try await withOpsightServer("conn-cap", configure: { $0.extraConfig = "http: {max_connections: 4}\n" }) {
            server, card in
            let port = server.port
            let token = server.readToken
            let idle = (0..<6).compactMap { _ in connectLoopback(port: port) }
            card.equal(idle.count, 6, "six idle connections opened")
            // Beyond the cap: the next request's connection is refused with a clear 503 (polled: the server counts
            // a connection when it has set it up, which may lag the connect by a moment).
            var refused: String?
            let deadline = ContinuousClock.now + .seconds(10)
            while refused == nil && ContinuousClock.now < deadline {
                let answer = await Task.detached { Self.rawRequest(port: port, path: "/api/v1/status", token: token) }
                    .value
                if let answer, answer.hasPrefix("HTTP/1.1 503") { refused = answer }
            }
            card.check(refused != nil, "a connection over http.max_connections is answered 503")
            if let refused {
                card.check(refused.contains("too_many_connections"), "the 503 names the cause: \(refused.prefix(400))")
                card.check(refused.lowercased().contains("retry-after: 1"), "and says when to retry")
            }
            for fd in idle { close(fd) }
            // The idle connections are gone, so requests are served again.
            var served = false
            let again = ContinuousClock.now + .seconds(10)
            while !served && ContinuousClock.now < again {
                let answer = await Task.detached { Self.rawRequest(port: port, path: "/api/v1/status", token: token) }
                    .value
                served = answer?.hasPrefix("HTTP/1.1 200") ?? false
                if !served { try await Task.sleep(for: .milliseconds(100)) }
            }
            card.check(served, "requests are served again once connections close")
            let metrics = try await server.client.request(.get, "/metrics", token: server.readToken)
            card.check(
                metrics.text.split(separator: "\n").contains { $0.hasPrefix("opsight_http_connections_rejected_total ") && !$0.hasSuffix(" 0") },
                "the rejection is counted in /metrics")
        }
    }
}
