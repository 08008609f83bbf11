import Foundation
import Testing

/// SPEC §3–§5 and §7 end to end: a seeded corpus in every accepted form goes in through `POST /v1/ingest`, and
/// every figure of the services, routes and latency endpoints is compared with an exact oracle of the same
/// events — counts exactly, quantiles within 1 % (0 exactly 0) — for windows that cut through the data.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct IngestOracleTests {
    /// The corpus seed; `OPSIGHT_E2E_SEED` replays another one.
    static let seed: UInt64 = E2EEnvironment.variables["OPSIGHT_E2E_SEED"].flatMap { UInt64($0) } ?? 0x0B5E_2026

    /// One window the figures are compared in: the `time` text sent, and the time the answer must carry.
    struct WindowCase: CustomStringConvertible {
        var name: String
        var ms: Int64
        /// The evaluation time after rounding down to the store's grid.
        var t: Int64
        var timeText: String
        var description: String { "window \(name) at time=\(timeText)" }
    }

    @Test func everyFigureMatchesAnExactOracleOfTheSameEvents() async throws {
        try await withOpsightServer("oracle") { server, card in
            let generatedAt = E2EEnvironment.nowMs
            // 8 minutes ago: SPEC §5 keeps a 1h window ending up to 10 minutes ago exact in Redis (2 minutes are
            // left for shipping and querying).
            let t = floorDiv(generatedAt - 480_000, 10_000) * 10_000
            let t6 = floorDiv(t - 60_000, 60_000) * 60_000
            let corpus = Corpus.generate(seed: Self.seed, t: t, t6: t6)
            let oracle = Oracle(corpus: corpus)
            try #require(corpus.eventCount >= 5_000)
            try #require(Set(corpus.requests.map(\.service)).count >= 3)
            print("e2e[oracle]: seed \(Self.seed), \(corpus.eventCount) events, t=\(t / 1000), t6=\(t6 / 1000)")

            try await Self.ship(corpus, to: server, card)
            try await Self.waitUntilStored(oracle, server: server, t: t, t6: t6)

            let cases = [
                WindowCase(name: "1m", ms: 60_000, t: t, timeText: "\(t / 1000)"),
                WindowCase(name: "5m", ms: 300_000, t: t, timeText: TimeText.rfc3339(ms: t)),
                // Past times off the grid are rounded down to it.
                WindowCase(name: "15m", ms: 900_000, t: t, timeText: "\(t / 1000 + 7)"),
                WindowCase(name: "1h", ms: 3_600_000, t: t, timeText: "\(t / 1000 + 9).5"),
                WindowCase(
                    name: "6h", ms: 21_600_000, t: t6, timeText: TimeText.rfc3339(ms: t6 + 30_000, offsetMinutes: 120)),
            ]
            for c in cases {
                let inWindow = corpus.requests.filter { Oracle.inWindow($0.tsMs, t: c.t, w: c.ms) }.count
                print("e2e[oracle]: \(c): \(inWindow) of \(corpus.requests.count) requests inside")
                try await Self.compareServices(c, oracle, server, card)
                try await Self.compareRoutesAndLatency(c, oracle, server, card)
                try await Self.compareJobs(c, oracle, server, card)
            }
            try await Self.compareAtNow(oracle, server, card)
        }
    }

    // MARK: - Shipping

    /// Sends the corpus in several batches: plain NDJSON, CRLF NDJSON, gzip'd, and one JSON array; job lines
    /// keep their time order across batches.
    static func ship(_ corpus: Corpus, to server: OpsightServer, _ card: Scorecard) async throws {
        var rng = SeededGenerator(seed: seed ^ 0xBA7C)
        let batchCount = 8
        let others = corpus.lines.shuffled(using: &rng)
        func chunk(_ lines: [String], _ i: Int) -> [String] {
            let size = (lines.count + batchCount - 1) / batchCount
            return Array(lines[min(lines.count, i * size)..<min(lines.count, (i + 1) * size)])
        }
        var accepted = 0
        for i in 0..<batchCount {
            let lines = (chunk(others, i) + chunk(corpus.jobLines, i)).shuffled(using: &rng)
            let answer: HTTPResult
            switch i % 4 {
            case 0:
                answer = try await server.client.ingest(Array((lines.joined(separator: "\n") + "\n").utf8))
            case 1:
                answer = try await server.client.ingest(Array(lines.joined(separator: "\n").utf8), gzip: true)
            case 2 where i == 2:
                let array = "[\n" + lines.joined(separator: ",\n") + "\n]"
                answer = try await server.client.ingest(Array(array.utf8), contentType: "application/json")
            default:
                answer = try await server.client.ingest(
                    Array((lines.joined(separator: "\r\n") + "\r\n").utf8), gzip: i == 7)
            }
            try #require(answer.status == 200, "batch \(i): HTTP \(answer.status) \(answer.text.prefix(500))")
            let result = try answer.decode(IngestAnswer.self)
            card.equal(result.accepted, lines.count, "batch \(i) accepted")
            card.equal(result.rejected, 0, "batch \(i) rejected")
            card.check(
                result.errors.isEmpty, "batch \(i) errors: \(result.errors.prefix(5).map { "\($0.line): \($0.error)" })"
            )
            accepted += result.accepted
        }
        card.equal(accepted, corpus.eventCount, "events accepted over all batches")
    }

    /// Waits until Redis (1h windows) and PostgreSQL (6h at t6, 1d now) hold every request and finished job.
    static func waitUntilStored(_ oracle: Oracle, server: OpsightServer, t: Int64, t6: Int64) async throws {
        let end = ceilTo(oracle.corpus.requests.map(\.tsMs).max()!, 10_000)
        let probes: [(window: String, ms: Int64, t: Int64?)] = [
            ("1h", 3_600_000, end), ("1h", 3_600_000, t), ("6h", 21_600_000, t6), ("1d", 86_400_000, nil),
        ]
        for p in probes {
            let wantRequests = oracle.services(t: p.t ?? E2EEnvironment.nowMs, w: p.ms).values.reduce(0) {
                $0 + $1.count
            }
            let wantJobs = oracle.jobsByService(t: p.t ?? E2EEnvironment.nowMs, w: p.ms).values
                .reduce(0) { $0 + $1.succeeded + $1.failed }
            try await eventually(
                "all events visible in the \(p.window) window at \(p.t.map { "\($0 / 1000)" } ?? "now")"
            ) {
                var query = [("window", p.window)]
                if let at = p.t { query.append(("time", "\(at / 1000)")) }
                let s: ServicesAnswer = try await server.client.get("/api/v1/services", query: query)
                let requests = s.services.reduce(0) { $0 + $1.requests }
                let jobs = s.services.reduce(0) { $0 + $1.jobs.succeeded + $1.jobs.failed }
                return (
                    requests == wantRequests && jobs == wantJobs,
                    "requests \(requests)/\(wantRequests), finished jobs \(jobs)/\(wantJobs)"
                )
            }
        }
    }

    // MARK: - Comparisons

    static func compareServices(_ c: WindowCase, _ oracle: Oracle, _ server: OpsightServer, _ card: Scorecard)
        async throws
    {
        let answer: ServicesAnswer = try await server.client.get(
            "/api/v1/services", query: [("window", c.name), ("time", c.timeText)])
        card.equal(answer.window, c.name, "services \(c): window")
        card.equal(answer.time, Double(c.t) / 1000, "services \(c): time (rounded down to the grid)")
        let want = oracle.services(t: c.t, w: c.ms)
        let wantJobs = oracle.jobsByService(t: c.t, w: c.ms)
        for (name, figures) in want {
            guard let got = answer[name] else {
                card.fail("services \(c): \(name) missing (want \(figures.count) requests)")
                continue
            }
            compareSummary(
                requests: got.requests, errors: got.errors, clientErrors: got.clientErrors, rate: got.requestRate,
                errorRatio: got.errorRatio, latency: got.latency, figures, windowMs: c.ms, "services \(c) \(name)",
                card)
        }
        for got in answer.services {
            if want[got.service] == nil {
                card.equal(
                    got.requests, 0, "services \(c) \(got.service): requests of a service with none in the window")
                compareSummary(
                    requests: got.requests, errors: got.errors, clientErrors: got.clientErrors,
                    rate: got.requestRate, errorRatio: got.errorRatio, latency: got.latency, .init(),
                    windowMs: c.ms, "services \(c) \(got.service)", card)
            }
            let jobs = wantJobs[got.service] ?? .init()
            card.equal(got.jobs.succeeded, jobs.succeeded, "services \(c) \(got.service): jobs.succeeded")
            card.equal(got.jobs.failed, jobs.failed, "services \(c) \(got.service): jobs.failed")
            card.close(got.jobs.failureRatio, jobs.failureRatio, "services \(c) \(got.service): jobs.failureRatio")
        }
        for (name, jobs) in wantJobs where answer[name] == nil && jobs.succeeded + jobs.failed > 0 {
            card.fail("services \(c): \(name) missing (want \(jobs.succeeded) succeeded jobs)")
        }
    }

    static func compareRoutesAndLatency(
        _ c: WindowCase, _ oracle: Oracle, _ server: OpsightServer, _ card: Scorecard
    ) async throws {
        let qs = Oracle.quantiles.map(\.key).joined(separator: ",")
        for service in Catalogue.services.map(\.name) {
            let answer: RoutesAnswer = try await server.client.get(
                "/api/v1/services/\(service)/routes", query: [("window", c.name), ("time", c.timeText)])
            card.equal(answer.service, service, "routes \(c): service")
            card.equal(answer.window, c.name, "routes \(c) \(service): window")
            card.equal(answer.time, Double(c.t) / 1000, "routes \(c) \(service): time")
            let want = oracle.routes(of: service, t: c.t, w: c.ms)
            let listed = answer.routes.filter { $0.requests > 0 }
            // Every concrete path was normalised: no other route appears.
            card.equal(
                Set(listed.map { Oracle.RouteKey(route: $0.route, method: $0.method) }), Set(want.keys),
                "routes \(c) \(service): the set of (route, method) with requests")
            for got in answer.routes {
                let figures = want[Oracle.RouteKey(route: got.route, method: got.method)] ?? .init()
                compareSummary(
                    requests: got.requests, errors: got.errors, clientErrors: got.clientErrors,
                    rate: got.requestRate, errorRatio: got.errorRatio, latency: got.latency, figures,
                    windowMs: c.ms, "routes \(c) \(service) \(got.method) \(got.route)", card)
            }

            // Latency at every quantile: per service, per (route, method), and per route over its methods.
            var targets: [(route: String?, method: String?, samples: [Double])] = [
                (nil, nil, oracle.services(t: c.t, w: c.ms)[service]?.latencies ?? [])
            ]
            for (key, figures) in want.sorted(by: { $0.key < $1.key }) {
                targets.append((key.route, key.method, figures.latencies))
            }
            let routesWithMethods = Dictionary(grouping: want, by: { $0.key.route }).filter { $0.value.count > 1 }
            for (route, entries) in routesWithMethods {
                targets.append((route, nil, entries.flatMap { $0.value.latencies }))
            }
            for target in targets {
                var query = [("service", service), ("window", c.name), ("q", qs), ("time", c.timeText)]
                if let route = target.route { query.append(("route", route)) }
                if let method = target.method { query.append(("method", method)) }
                let what = "latency \(c) \(service) \(target.method ?? "*") \(target.route ?? "*")"
                let got: LatencyAnswer = try await server.client.get("/api/v1/latency", query: query)
                card.equal(got.service, service, "\(what): service")
                card.equal(got.route, target.route, "\(what): route")
                card.equal(got.method, target.method, "\(what): method")
                card.equal(got.window, c.name, "\(what): window")
                card.equal(got.time, Double(c.t) / 1000, "\(what): time")
                card.equal(got.count, target.samples.count, "\(what): count")
                for q in Oracle.quantiles {
                    card.quantile(got.quantiles[q.key], exactMs: Oracle.exact(target.samples, q), "\(what): q=\(q.key)")
                }
            }
        }
    }

    static func compareJobs(_ c: WindowCase, _ oracle: Oracle, _ server: OpsightServer, _ card: Scorecard) async throws
    {
        let qs = Oracle.quantiles.map(\.key).joined(separator: ",")
        let want = oracle.jobs(t: c.t, w: c.ms)
        for type in Catalogue.jobTypes {
            let figures = want[Oracle.JobKey(service: type.service, queue: type.queue, job: type.job)] ?? .init()
            for (metric, samples) in [("duration", figures.durations), ("wait", figures.waits)] {
                let what = "job \(metric) \(c) \(type.service) \(type.queue)/\(type.job)"
                let got: LatencyAnswer = try await server.client.get(
                    "/api/v1/latency",
                    query: [
                        ("service", type.service), ("queue", type.queue), ("job", type.job), ("metric", metric),
                        ("window", c.name), ("q", qs), ("time", c.timeText),
                    ])
                card.equal(got.time, Double(c.t) / 1000, "\(what): time")
                card.equal(got.count, samples.count, "\(what): count")
                for q in Oracle.quantiles {
                    card.quantile(got.quantiles[q.key], exactMs: Oracle.exact(samples, q), "\(what): q=\(q.key)")
                }
            }
        }
    }

    /// Without `time` the window ends now and holds every event acknowledged so far with ts in (now − W, now];
    /// only its older edge is on the 10 s grid, so a count between the two grid choices is accepted.
    static func compareAtNow(_ oracle: Oracle, _ server: OpsightServer, _ card: Scorecard) async throws {
        for (name, w) in [("1h", Int64(3_600_000)), ("15m", 900_000)] {
            let before = E2EEnvironment.nowMs
            let answer: ServicesAnswer = try await server.client.get("/api/v1/services", query: [("window", name)])
            let after = E2EEnvironment.nowMs
            let now = Int64((answer.time * 1000).rounded())
            card.check(
                now >= before - 1 && now <= after + 1,
                "services \(name) at now: time \(answer.time) not between \(before) and \(after) ms")
            let narrow = oracle.services(t: now, w: w - (ceilTo(now, 10_000) - now))
            let wide = oracle.services(t: now, w: now - floorDiv(now, 10_000) * 10_000 + w)
            for service in Catalogue.services.map(\.name) {
                let got = answer[service]?.requests ?? 0
                let lo = narrow[service]?.count ?? 0
                let hi = wide[service]?.count ?? 0
                card.check(
                    lo <= got && got <= hi, "services \(name) at now \(service): \(got) requests, want \(lo)…\(hi)")
                if lo == hi, let got = answer[service], let figures = wide[service] {
                    for q in Oracle.summaryQuantiles {
                        card.quantile(
                            got.latency[q.key], exactMs: Oracle.exact(figures.latencies, q),
                            "services \(name) at now \(service): q=\(q.key)")
                    }
                }
            }
        }
    }

    /// Compares one services or routes entry with its oracle figures.
    static func compareSummary(
        requests: Int, errors: Int, clientErrors: Int, rate: Double, errorRatio: Double?, latency: [String: Double?],
        _ want: Oracle.RequestFigures, windowMs: Int64, _ what: String, _ card: Scorecard
    ) {
        card.equal(requests, want.count, "\(what): requests")
        card.equal(errors, want.errors, "\(what): errors (5xx)")
        card.equal(clientErrors, want.clientErrors, "\(what): client_errors (4xx)")
        card.close(rate, want.rate(windowMs: windowMs), "\(what): request_rate")
        card.close(errorRatio, want.errorRatio, "\(what): error_ratio")
        for q in Oracle.summaryQuantiles {
            card.quantile(latency[q.key], exactMs: Oracle.exact(want.latencies, q), "\(what): latency q=\(q.key)")
        }
    }
}
