import Foundation

/// A small seeded corpus of requests for the Prometheus-compatibility tests (promtool, a real Prometheus), with
/// the figures the windowed series must show for a window that holds every request.
///
/// Request times are 3 to 20 minutes old when generated, so a 1 h window evaluated any time in the next half
/// hour holds every one of them: the `window="1h"` series are stable while the tests run.
struct PromCorpus {
    /// One request as the server should understand it (the oracle test's shape).
    typealias Request = Corpus.Request

    struct RouteKey: Hashable, Comparable {
        var service: String
        var route: String
        var method: String
        static func < (a: RouteKey, b: RouteKey) -> Bool {
            (a.service, a.route, a.method) < (b.service, b.route, b.method)
        }
    }

    /// Counts of one service or route.
    struct Figures {
        var count = 0
        /// 5xx responses (SPEC §5's default error definition).
        var serverErrors = 0
        var byClass: [String: Int] = [:]
        var durationsMs: [Double] = []
        var errorRatio: Double { Double(serverErrors) / Double(count) }
    }

    /// Service name → (weight, share of 5xx): error ratios far from the 0.2 threshold the tests filter on.
    static let services: [(name: String, weight: Double, serverErrorRate: Double)] = [
        ("pq-alpha", 0.5, 0.04), ("pq-bravo", 0.3, 0.32), ("pq-charlie", 0.2, 0.55),
    ]
    /// (template, method); templates with `:id` are sent as a concrete `path` the server must normalise.
    static let routes: [(template: String, method: String)] = [
        ("/pq/items", "GET"), ("/pq/items/:id", "GET"), ("/pq/orders", "POST"), ("/pq/orders/:id", "DELETE"),
    ]

    let seed: UInt64
    let generatedAtMs: Int64
    var requests: [Request] = []
    var lines: [String] = []

    /// `count` requests with times in [now − 20 min, now − 3 min).
    init(seed: UInt64, nowMs: Int64, count: Int = 1_500) {
        self.seed = seed
        generatedAtMs = nowMs
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<count {
            let s = rng.weighted(Self.services.map { ($0, $0.weight) })
            // pq-alpha does not serve DELETE: the per-service route sets differ.
            let choices = Self.routes.filter { !(s.name == "pq-alpha" && $0.method == "DELETE") }
            let r = choices[Int(rng.next() % UInt64(choices.count))]
            let status: Int
            if rng.chance(s.serverErrorRate) {
                status = rng.weighted([(500, 3.0), (502, 1), (503, 1)])
            } else {
                status = rng.weighted([(200, 6.0), (201, 2), (204, 1), (301, 0.5), (404, 1), (422, 0.5)])
            }
            let durationMs = (rng.unit() * 900_000).rounded() / 1000  // 0 … 900 ms, µs resolution
            let ts = nowMs - 180_000 - Int64(rng.next() % 1_020_000)
            let req = Request(
                service: s.name, route: r.template, method: r.method, status: status, durationMs: durationMs, tsMs: ts)
            requests.append(req)
            var path = r.template
            if path.contains(":id") {
                path = path.replacingOccurrences(of: ":id", with: String(rng.next() % 100_000))
            }
            let location = path == r.template ? #""route":"\#(path)""# : #""path":"\#(path)""#
            lines.append(
                #"{"ts":\#(ts),"service":"\#(s.name)",\#(location),"method":"\#(r.method)","status":\#(status),"duration_ms":\#(durationMs)}"#
            )
        }
    }

    /// The NDJSON body of every line.
    var body: [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }

    var byService: [String: Figures] {
        var out: [String: Figures] = [:]
        for r in requests { out[r.service, default: Figures()].add(r) }
        return out
    }

    var byRoute: [RouteKey: Figures] {
        var out: [RouteKey: Figures] = [:]
        for r in requests {
            out[RouteKey(service: r.service, route: r.route, method: r.method), default: Figures()].add(r)
        }
        return out
    }

    /// The exact sample quantile of SPEC §5 (rank ⌊q·(n−1)⌋), in ms.
    static func exactQuantile(_ samples: [Double], _ q: Double) -> Double? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
    }
}

extension PromCorpus.Figures {
    mutating func add(_ r: PromCorpus.Request) {
        count += 1
        if r.status >= 500 { serverErrors += 1 }
        byClass["\(r.status / 100)xx", default: 0] += 1
        durationsMs.append(r.durationMs)
    }
}
