import Foundation
import Testing

/// Funnels with the real binary on real stores (issue 5): generated journeys — complete, abandoned at each step,
/// too slow for the conversion window, out of order, repeated — are sent to one `opsight serve`, and split at
/// random between two sharing Redis and PostgreSQL. `/api/v1/funnels/NAME`, `/metrics` and `/api/v1/query`
/// give exactly what a brute-force oracle computes from the same journeys, and two collectors give what one
/// gives.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct FunnelsEndToEndTests {
    static let conversionMs: Int64 = 1_800_000
    static let config = """
        funnels:
          - name: assessment_journey
            key: entity
            window: 30m
            steps:
              - document_uploaded
              - assessment_requested
              - {name: assessment_completed, kind: job, queue: assessments, event: succeeded}
              - report_viewed

        """

    /// Per entity, the times of each of the 4 steps.
    struct Corpus {
        var journeys: [[[Int64]]] = []
        var lines: [String] = []
    }

    static func corpus(seed: UInt64, entities: Int, endMs: Int64) -> Corpus {
        var rng = SeededGenerator(seed: seed)
        var c = Corpus()
        for i in 0..<entities {
            let entity = "user-\(i)"
            var times: [[Int64]] = Array(repeating: [], count: 4)
            for _ in 0..<(rng.chance(0.2) ? 2 : 1) {
                // A quarter of the attempts began 3–5 hours ago: Redis does not keep them, PostgreSQL does.
                var t =
                    rng.chance(0.25)
                    ? endMs - 18_000_000 + Int64(rng.unit() * 7_200_000) : endMs - 3_000_000 + Int64(rng.unit() * 2_900_000)
                times[0].append(t)
                let reach = rng.weighted([(1, 0.2), (2, 0.2), (3, 0.2), (4, 0.4)])
                for k in 1..<reach {
                    // Mostly minutes apart; sometimes slower than the 30 m conversion window.
                    t += rng.chance(0.15) ? 900_000 + Int64(rng.unit() * 1_200_000) : Int64(rng.unit() * 300_000)
                    guard t <= endMs else { break }
                    times[k].append(t)
                }
            }
            if rng.chance(0.1) { times[3].append(endMs - Int64(rng.unit() * 3_000_000)) }  // a stray report view
            c.journeys.append(times)
            for (k, list) in times.enumerated() {
                for t in list {
                    switch k {
                    case 0: c.lines.append(#"{"ts":\#(t),"service":"assess","event":"document_uploaded","entity":"\#(entity)"}"#)
                    case 1: c.lines.append(#"{"ts":\#(t),"service":"assess","event":"assessment_requested","entity":"\#(entity)"}"#)
                    case 2:
                        c.lines.append(
                            #"{"ts":\#(t),"service":"assess","kind":"job","queue":"assessments","job":"ai","job_id":\#(i),"event":"succeeded","duration_ms":800,"entity":"\#(entity)"}"#)
                    default: c.lines.append(#"{"ts":\#(t),"service":"assess","event":"report_viewed","entity":"\#(entity)"}"#)
                    }
                }
            }
            // No steps: a failed job of the entity, and requests.
            c.lines.append(
                #"{"ts":\#(endMs - 1000),"service":"assess","kind":"job","queue":"assessments","job":"ai","job_id":\#(i),"event":"failed","duration_ms":5,"entity":"\#(entity)"}"#)
            c.lines.append(#"{"ts":\#(endMs - 2000),"service":"assess","route":"/x","method":"GET","status":200,"duration_ms":4}"#)
        }
        // Out of order: later steps often arrive before earlier ones.
        for i in stride(from: c.lines.count - 1, to: 0, by: -1) {
            c.lines.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return c
    }

    /// SPEC §5 by brute force: every path of every attempt starting in the window.
    struct Expected: Equatable {
        var entered = 0
        var reached = [0, 0, 0, 0]
        var timesToConvertMs: [Int64] = []
    }

    static func oracle(_ journeys: [[[Int64]]], windowMs: Int64, t: Int64) -> Expected {
        var e = Expected()
        for times in journeys {
            let starts = Set(times[0]).filter { $0 > t - windowMs && $0 <= t }.sorted()
            guard !starts.isEmpty else { continue }
            e.entered += 1
            var best = 0
            var convert: Int64?
            for s in starts {
                var depth = 1
                var done: Int64?
                func walk(_ k: Int, _ previous: Int64) {
                    depth = max(depth, k)
                    if k == 4 { done = min(done ?? .max, previous); return }
                    for x in times[k] where x >= previous && x <= s + conversionMs && x <= t { walk(k + 1, x) }
                }
                walk(1, s)
                best = max(best, depth)
                if convert == nil, let done { convert = done - s }
            }
            for k in 0..<best { e.reached[k] += 1 }
            if let convert { e.timesToConvertMs.append(convert) }
        }
        return e
    }

    struct FunnelAnswer: Decodable {
        struct Step: Decodable {
            var index: Int
            var name: String
            var reached: Int
            var conversion: Double?
            var step_conversion: Double?
        }
        var funnel: String
        var window: String
        var entered: Int
        var steps: [Step]
        var time_to_convert: [String: Double?]
    }

    static func send(_ lines: [String], to server: OpsightServer, card: Scorecard) async throws {
        var offset = 0
        while offset < lines.count {
            let end = min(offset + 500, lines.count)
            let r = try await server.client.ingest(Array((lines[offset..<end].joined(separator: "\n") + "\n").utf8))
            card.equal(r.status, 200, "ingest: \(r.text.prefix(300))")
            card.check(r.text.contains("\"rejected\":0"), "no line rejected: \(r.text.prefix(300))")
            offset = end
        }
    }

    /// Waits until the funnel answer at `t` is the oracle's, then checks every figure.
    static func checkFunnel(
        _ server: OpsightServer, _ corpus: Corpus, t: Int64, windows: [String: Int64], card: Scorecard
    ) async throws -> [String: FunnelAnswer] {
        var answers: [String: FunnelAnswer] = [:]
        for (text, ms) in windows.sorted(by: { $0.value < $1.value }) {
            let want = oracle(corpus.journeys, windowMs: ms, t: t)
            var got: FunnelAnswer?
            // PostgreSQL (read for windows longer than Redis keeps) is written every few seconds.
            try await eventually("funnel \(text) equals the oracle", timeout: .seconds(20)) {
                let a: FunnelAnswer = try await server.client.get(
                    "/api/v1/funnels/assessment_journey",
                    query: [("window", text), ("time", String(format: "%.3f", Double(t) / 1000))])
                got = a
                return (a.entered == want.entered && a.steps.map(\.reached) == want.reached, "\(a.entered) \(a.steps.map(\.reached)) want \(want.entered) \(want.reached)")
            }
            guard let a = got else { continue }
            card.equal(a.entered, want.entered, "entered, \(text)")
            card.equal(a.steps.map(\.reached), want.reached, "reached per step, \(text)")
            card.equal(a.steps.map(\.name), ["document_uploaded", "assessment_requested", "assessment_completed", "report_viewed"], "step names")
            for (i, s) in a.steps.enumerated() {
                let conversion = want.entered > 0 ? Double(want.reached[i]) / Double(want.entered) : nil
                card.equal(s.conversion, conversion, "conversion of step \(i + 1), \(text)")
                let before = i == 0 ? want.entered : want.reached[i - 1]
                card.equal(s.step_conversion, before > 0 ? Double(want.reached[i]) / Double(before) : nil, "step conversion \(i + 1)")
            }
            let sorted = want.timesToConvertMs.sorted()
            card.check(sorted.count > 10, "the corpus converts some (\(sorted.count))")
            for (key, q) in [("0.5", 0.5), ("0.95", 0.95)] {
                let exact = Double(sorted[Int(q * Double(sorted.count - 1))]) / 1000
                card.equal(a.time_to_convert[key] ?? nil, exact, "time to convert q\(key), \(text)")
            }
            answers[text] = a
        }
        return answers
    }

    @Test func oneCollectorAndTwoSharingTheStoresGiveTheOraclesFigures() async throws {
        let t = E2EEnvironment.nowMs - 5_000
        let corpus = Self.corpus(seed: 2026, entities: 600, endMs: t)
        let windows: [String: Int64] = ["15m": 900_000, "1h": 3_600_000, "6h": 21_600_000]
        let single = try OpsightServer(label: "funnel-one")
        single.extraConfig = Self.config
        let a = try OpsightServer(label: "funnel-a")
        a.extraConfig = Self.config
        let b = try OpsightServer(label: "funnel-b", sharing: a)
        b.extraConfig = Self.config
        try await withOpsightServers([single, a, b]) { card in
            try await single.start()
            try await Self.send(corpus.lines, to: single, card: card)
            let one = try await Self.checkFunnel(single, corpus, t: t, windows: windows, card: card)

            // The same lines split at random between two collectors on shared stores.
            try await a.start()
            try await b.start()
            var rng = SeededGenerator(seed: 7)
            var toA: [String] = []
            var toB: [String] = []
            for line in corpus.lines { if rng.chance(0.5) { toA.append(line) } else { toB.append(line) } }
            async let sentA: Void = Self.send(toA, to: a, card: card)
            async let sentB: Void = Self.send(toB, to: b, card: card)
            _ = try await (sentA, sentB)
            for server in [a, b] {
                let two = try await Self.checkFunnel(server, corpus, t: t, windows: windows, card: card)
                for w in windows.keys {
                    card.equal(two[w]?.entered, one[w]?.entered, "\(w): two collectors enter what one does")
                    card.equal(two[w]?.steps.map(\.reached), one[w]?.steps.map(\.reached), "\(w): reached as one")
                }
            }

            // The families: /metrics at now, and the query API.
            let want = Self.oracle(corpus.journeys, windowMs: 3_600_000, t: E2EEnvironment.nowMs)
            let metrics = try await a.client.request(.get, "/metrics", token: a.readToken)
            card.check(
                metrics.text.contains(#"opsight_funnel_entered{funnel="assessment_journey",window="1h"} \#(want.entered)"#),
                "opsight_funnel_entered in /metrics: \(metrics.text.split(separator: "\n").filter { $0.contains("funnel_entered") })")
            card.check(
                metrics.text.contains(
                    #"opsight_funnel_step_reached{funnel="assessment_journey",step="report_viewed",index="4",window="1h"} \#(want.reached[3])"#),
                "opsight_funnel_step_reached in /metrics")
            card.check(metrics.text.contains("# TYPE opsight_funnel_time_to_convert_seconds summary"), "time to convert is a summary")
            let query = try await a.client.request(
                .get,
                "/api/v1/query" + OpsightClient.queryString([
                    ("query", #"opsight_funnel_conversion_ratio{funnel="assessment_journey",window="1h",index="4"}"#)
                ]), token: a.readToken)
            let ratio = Double(want.reached[3]) / Double(want.entered)
            card.check(query.text.contains("\"\(ratio)\"") || query.text.contains(String(format: "\"%.15g\"", ratio)),
                "conversion ratio \(ratio) from /api/v1/query: \(query.text.prefix(400))")

            let list = try await a.client.request(.get, "/api/v1/funnels", token: a.readToken)
            card.check(list.text.contains("\"assessment_journey\"") && list.text.contains("\"30m\""), "the list: \(list.text)")
            let missing = try await a.client.request(.get, "/api/v1/funnels/nope", token: a.readToken)
            card.equal(missing.status, 404, "an unknown funnel is 404")
            card.check(missing.text.contains("assessment_journey"), "the 404 names the configured funnels: \(missing.text)")
            let bad = try await a.client.request(.get, "/api/v1/funnels/assessment_journey?window=soon", token: a.readToken)
            card.equal(bad.status, 400, "a bad window is 400")
        }
    }

    /// Funnels are alertable: a rule over `opsight_funnel_conversion_ratio` fires when journeys stall after the
    /// upload (its `$value` is the ratio the API reports) and resolves once they convert.
    @Test func aConversionRuleFiresOnStalledJourneysAndResolves() async throws {
        let server = try OpsightServer(label: "funnel-alert")
        try Data(
            """
            groups:
              - name: funnels
                interval: 1s
                rules:
                  - alert: AssessmentRequestsDropped
                    expr: opsight_funnel_conversion_ratio{funnel="assessment_journey", index="2", window="5m"} < 0.5
                    labels: {severity: warning}
                    annotations:
                      summary: "{{ $labels.step }} converts {{ $value | humanizePercentage }}"

            """.utf8
        ).write(to: server.directory.appendingPathComponent("rules.yml"))
        server.extraConfig = Self.config + """
            windows: [5m]
            alerting: {rule_files: [rules.yml], evaluation_interval: 1s}

            """
        try await withOpsightServers([server]) { card in
            try await server.start()
            let now = E2EEnvironment.nowMs
            // 10 users upload, 2 of them request an assessment: 20 % reach step 2.
            var lines = (0..<10).map { #"{"ts":\#(now - 60_000),"service":"assess","event":"document_uploaded","entity":"u\#($0)"}"# }
            lines += (0..<2).map { #"{"ts":\#(now - 30_000),"service":"assess","event":"assessment_requested","entity":"u\#($0)"}"# }
            card.equal(try await server.client.ingest(Array((lines.joined(separator: "\n") + "\n").utf8)).status, 200, "ingest")
            var summary = ""
            try await eventually("the conversion alert fires", timeout: .seconds(20)) {
                let r = try await server.client.request(.get, "/api/v1/alerts", token: server.readToken)
                let json = try JSONSerialization.jsonObject(with: r.body) as? [String: Any]
                let alerts = (json?["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
                let firing = alerts.first { $0["state"] as? String == "firing" }
                summary = (firing?["annotations"] as? [String: String])?["summary"] ?? ""
                return (firing != nil, r.text)
            }
            card.equal(summary, "assessment_requested converts 20%", "the annotation carries the step and the ratio")
            // The other 8 request theirs: 100 %, and the alert resolves.
            let rest = (2..<10).map { #"{"ts":\#(now - 20_000),"service":"assess","event":"assessment_requested","entity":"u\#($0)"}"# }
            card.equal(try await server.client.ingest(Array((rest.joined(separator: "\n") + "\n").utf8)).status, 200, "ingest")
            try await eventually("the alert resolves", timeout: .seconds(20)) {
                let r = try await server.client.request(.get, "/api/v1/alerts", token: server.readToken)
                return (!r.text.contains("\"firing\""), r.text)
            }
        }
    }
}
