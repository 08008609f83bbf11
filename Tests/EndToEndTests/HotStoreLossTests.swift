import Foundation
import Testing

/// Issue 14 under load, against the real binary, Redis and PostgreSQL: a Redis that restarts empty is noticed and
/// rebuilt so the 1 h window equals what was acknowledged; job events in shuffled order on two collectors sharing
/// the stores pair into exactly the oracle's queue waits.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct HotStoreLossTests {
    /// The exact sample quantile (0-based rank ⌊q·(n−1)⌋) of `sorted`, SPEC §5.
    static func exact(_ sorted: [Double], _ q: Double) -> Double? {
        sorted.isEmpty ? nil : sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
    }

    static func json(_ r: HTTPResult) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: r.body) as? [String: Any]) ?? [:]
    }

    @Test func aRedisRestartedEmptyUnderLoadIsRebuiltToTheAcknowledgedWindow() async throws {
        let redis = try StoppableStore.redis()
        try await redis.start()
        defer { redis.stop() }
        try await withOpsightServer(
            "hot-loss", configure: { $0.redisURL = "redis://127.0.0.1:\(redis.port)/0" }
        ) { server, card in
            let client = server.client
            let service = "loss-\(E2EEnvironment.randomID(6))"
            func status() async throws -> (state: String, rebuilds: Int) {
                let redis = (Self.json(try await client.request(.get, "/api/v1/status", token: server.readToken))[
                    "stores"] as? [String: Any])?["redis"] as? [String: Any]
                return (redis?["state"] as? String ?? "?", (redis?["rebuilds"] as? NSNumber)?.intValue ?? -1)
            }
            let before = try await status()
            card.equal(before.state, "ok", "the hot store holds its data at start")

            // Load: batches of requests spread over the last 50 minutes, the durations of what was acknowledged kept.
            let loadFor: Duration = .seconds(14)
            let load = Task { () -> [Double] in
                var rng = SeededGenerator(seed: 14)
                var acknowledged: [Double] = []
                let end = ContinuousClock.now + loadFor
                while ContinuousClock.now < end {
                    let now = E2EEnvironment.nowMs
                    var durations: [Double] = []
                    let body = (0..<250).map { _ -> String in
                        let d = Double(Int.random(in: 0...400_000, using: &rng)) / 100
                        durations.append(d)
                        let ts = now - Int64.random(in: 0..<3_000_000, using: &rng)
                        return #"{"ts":\#(ts),"service":"\#(service)","route":"/r/\#(Int.random(in: 0..<5, using: &rng))","method":"GET","status":200,"duration_ms":\#(d)}"#
                    }.joined(separator: "\n")
                    let r = try await client.ingest(Array(body.utf8))
                    if r.status == 200 { acknowledged += durations }
                    try await Task.sleep(for: .milliseconds(40))
                }
                return acknowledged
            }
            // Watch what status and /readyz say meanwhile (apart: a /readyz that pings a Redis being restarted may
            // take its time, and must not space out the status polls).
            let watchUntil = ContinuousClock.now + loadFor + .seconds(4)
            let watchStatus = Task { () -> Set<String> in
                var states = Set<String>()
                while ContinuousClock.now < watchUntil {
                    if let s = try? await status() { states.insert(s.state) }
                    try await Task.sleep(for: .milliseconds(40))
                }
                return states
            }
            let watchReadyz = Task { () -> Bool in
                var refused = false
                while ContinuousClock.now < watchUntil {
                    if let r = try? await client.request(.get, "/readyz", token: nil, timeout: .seconds(2)),
                        r.status == 503, r.text.contains("rebuild") || r.text.contains("lost")
                    {
                        refused = true
                    }
                    try await Task.sleep(for: .milliseconds(40))
                }
                return refused
            }
            try await Task.sleep(for: .seconds(5))
            // Redis restarts without persistence: everything it held is gone.
            redis.stop()
            try await Task.sleep(for: .milliseconds(800))
            try await redis.start()
            let acknowledged = try await load.value.sorted()
            let seen = (states: try await watchStatus.value, readyzRefused: try await watchReadyz.value)
            card.check(acknowledged.count > 1_000, "load was acknowledged throughout: \(acknowledged.count) events")

            let asked = ContinuousClock.now
            try await eventually("the 1h window holds every acknowledged event again", timeout: .seconds(30)) {
                let a: LatencyAnswer = try await client.get(
                    "/api/v1/latency", query: [("service", service), ("window", "1h"), ("q", "0.5,0.95,0.99")])
                return (a.count == acknowledged.count, "count \(a.count) of \(acknowledged.count)")
            }
            print("hot-loss: 1h window whole within \(ContinuousClock.now - asked) of asking; seen \(seen)")
            let a: LatencyAnswer = try await client.get(
                "/api/v1/latency", query: [("service", service), ("window", "1h"), ("q", "0.5,0.95,0.99")])
            card.equal(a.count, acknowledged.count, "1h count after the rebuild")
            for q in [0.5, 0.95, 0.99] {
                card.quantile(a.quantiles[PromText.q(q)], exactMs: Self.exact(acknowledged, q), "1h p\(q * 100)")
            }
            let after = try await status()
            card.equal(after.state, "ok", "the hot store is whole again")
            card.check(after.rebuilds > before.rebuilds, "status counts the rebuild: \(before.rebuilds) → \(after.rebuilds)")
            // A rebuild of this size takes 0.05–0.3 s: polls 40 ms apart on a loaded machine may miss it, so what status
            // said meanwhile is reported, and the counter above is what proves the loss was seen.
            print("hot-loss: status states seen while it lasted: \(seen.states.sorted())")
            // /readyz pings both stores, and on a loaded machine one answer may take longer than the rebuild lasts: it is
            // reported, not required (the readiness unit test checks the answer itself).
            print("hot-loss: /readyz answered 503 naming the rebuild while it lasted: \(seen.readyzRefused)")
            // Asked until it answers: on a loaded CI machine one scrape right after the rebuild failed this check once
            // (2026-12-05) without saying what it got, so a miss now reports the status and the lines it saw.
            var sawRebuildMetrics = false
            try await eventually("/metrics has the rebuild counter and gauge", timeout: .seconds(15)) {
                let metrics = try await client.request(.get, "/metrics", token: server.readToken)
                sawRebuildMetrics =
                    metrics.text.contains("opsight_hot_store_rebuilds_total \(after.rebuilds)")
                    && metrics.text.contains("opsight_hot_store_rebuilding 0")
                let lines = metrics.text.split(separator: "\n").filter { $0.hasPrefix("opsight_hot_store_rebuild") }
                return (sawRebuildMetrics, "status \(metrics.status): \(lines.isEmpty ? metrics.text.prefix(300)[...] : lines.joined(separator: "; ")[...])")
            }
            card.check(sawRebuildMetrics, "/metrics has the rebuild counter and gauge")
            let ready = try await client.request(.get, "/readyz", token: nil)
            card.equal(ready.status, 200, "/readyz is ready again: \(ready.text)")
        }
    }

    /// Lifecycles (enqueued → started → failed/succeeded, retried up to three times) of `jobs` job ids over the last
    /// 40 minutes, as lines, with the exact wait samples of SPEC §3.
    static func jobCorpus(service: String, jobs: Int, rng: inout SeededGenerator) -> (lines: [String], waits: [Double]) {
        let base = E2EEnvironment.nowMs - 2_700_000
        var lines: [String] = []
        var events: [(id: Int, kind: String, ts: Int64)] = []
        for j in 0..<jobs {
            var t = base + Int64.random(in: 0..<1_800_000, using: &rng)
            let attempts = Int.random(in: 1...3, using: &rng)
            for a in 1...attempts {
                events.append((j, "enqueued", t))
                t += Int64.random(in: 1..<90_000, using: &rng)
                events.append((j, "started", t))
                t += Int64.random(in: 1..<30_000, using: &rng)
                events.append((j, a == attempts ? "succeeded" : "failed", t))
                t += Int64.random(in: 1..<5_000, using: &rng)
            }
        }
        var waits: [Double] = []
        for s in events where s.kind == "started" {
            let latest = events.filter { $0.id == s.id && $0.kind == "enqueued" && $0.ts <= s.ts }.map(\.ts).max()!
            waits.append(Double(s.ts - latest))
        }
        for e in events {
            lines.append(
                #"{"ts":\#(e.ts),"service":"\#(service)","kind":"job","queue":"assessments","job":"assess","job_id":"j-\#(e.id)","event":"\#(e.kind)","duration_ms":5}"#)
        }
        return (lines, waits.sorted())
    }

    @Test func shuffledJobEventsOnTwoCollectorsPairEveryWait() async throws {
        let a = try OpsightServer(label: "wait-a")
        let b = try OpsightServer(label: "wait-b", sharing: a)
        try await withOpsightServers([a, b]) { card in
            try await a.start()
            try await b.start()
            let service = "waits-\(E2EEnvironment.randomID(6))"
            var rng = SeededGenerator(seed: 33)
            let corpus = Self.jobCorpus(service: service, jobs: 600, rng: &rng)
            var lines = corpus.lines
            lines.shuffle(using: &rng)
            var offset = 0
            var sent = 0
            while offset < lines.count {
                let end = min(offset + Int.random(in: 20...120, using: &rng), lines.count)
                let server = Bool.random(using: &rng) ? a : b
                let r = try await server.client.ingest(Array(lines[offset..<end].joined(separator: "\n").utf8))
                card.equal(r.status, 200, "batch accepted")
                sent += end - offset
                offset = end
            }
            card.equal(sent, lines.count, "every line sent")
            let query: [(String, String)] = [
                ("service", service), ("queue", "assessments"), ("job", "assess"), ("metric", "wait"),
                ("q", "0.5,0.95,0.99"),
            ]
            // 1h from the hot store, 6h from the PostgreSQL rollups; on either collector.
            for (window, server) in [("1h", a), ("1h", b), ("6h", b), ("6h", a)] {
                try await eventually("\(window) wait count on \(server === a ? "a" : "b")", timeout: .seconds(30)) {
                    let w: LatencyAnswer = try await server.client.get("/api/v1/latency", query: query + [("window", window)])
                    return (w.count == corpus.waits.count, "count \(w.count) of \(corpus.waits.count)")
                }
                let w: LatencyAnswer = try await server.client.get("/api/v1/latency", query: query + [("window", window)])
                card.equal(w.count, corpus.waits.count, "\(window) wait count")
                for q in [0.5, 0.95, 0.99] {
                    card.quantile(w.quantiles[PromText.q(q)], exactMs: Self.exact(corpus.waits, q), "\(window) wait p\(q * 100)")
                }
            }
        }
    }
}

/// How the latency API spells a quantile key.
enum PromText {
    static func q(_ q: Double) -> String { q == 0.5 ? "0.5" : String(q) }
}
