import Foundation

/// Known events for the dashboard tests: requests, jobs and logs of two services and the steps of one funnel,
/// so every family a shipped dashboard charts has series.
///
/// Every event is 3 to 20 minutes old when generated, so the `window="1h"` figures hold all of them and stay put
/// while the test runs (Opsight and a Prometheus that scraped it agree on them).
struct DashboardCorpus {
    /// The funnel of the configuration below.
    static let funnel = "dash_signup"
    static let funnelSteps = ["signup_started", "email_confirmed", "first_order"]

    /// The `funnels:` block of the server's configuration.
    static let funnelConfig = """
        funnels:
          - name: \(funnel)
            key: entity
            window: 30m
            steps: [\(funnelSteps.joined(separator: ", "))]

        """

    var lines: [String] = []
    /// Job lifecycle events by (service, event).
    var jobEvents: [String: [String: Int]] = [:]
    /// Requests by service.
    var requests: [String: Int] = [:]
    /// Entities with a step-1 event.
    var entered: Set<String> = []

    init(seed: UInt64, nowMs: Int64) {
        var rng = SeededGenerator(seed: seed)
        func time(_ rng: inout SeededGenerator, minAgeMs: Int64 = 180_000) -> Int64 {
            nowMs - minAgeMs - Int64(rng.next() % UInt64(1_200_000 - minAgeMs))
        }

        let routes: [(service: String, route: String, method: String, errorRate: Double)] = [
            ("dash-api", "/dash/items", "GET", 0.15), ("dash-api", "/dash/orders", "POST", 0.3),
            ("dash-worker", "/dash/health", "GET", 0.02),
        ]
        for i in 0..<400 {
            let r = routes[i % routes.count]
            let status =
                rng.chance(r.errorRate) ? rng.weighted([(500, 3.0), (503, 1)]) : rng.weighted([(200, 8.0), (404, 1)])
            let ms = (rng.unit() * 800_000).rounded() / 1000
            lines.append(
                #"{"ts":\#(time(&rng)),"service":"\#(r.service)","route":"\#(r.route)","method":"\#(r.method)","status":\#(status),"duration_ms":\#(ms)}"#
            )
            requests[r.service, default: 0] += 1
        }

        for (service, level) in [
            ("dash-api", "info"), ("dash-api", "warn"), ("dash-api", "error"), ("dash-worker", "info"),
        ] {
            for _ in 0..<5 {
                lines.append(
                    #"{"ts":\#(time(&rng)),"service":"\#(service)","level":"\#(level)","msg":"dashboard test"}"#)
            }
        }

        // Jobs: enqueued → started → succeeded or failed; a failure is retried once (enqueued and started again).
        for (service, queue, job) in [("dash-api", "mail", "send"), ("dash-worker", "reports", "render")] {
            for n in 0..<30 {
                let id = "\(queue)-\(n)"
                var t = time(&rng, minAgeMs: 300_000)
                func emit(_ event: String, _ ts: Int64, durationMs: Double? = nil, attempt: Int) {
                    let duration = durationMs.map { #","duration_ms":\#($0)"# } ?? ""
                    lines.append(
                        #"{"ts":\#(ts),"service":"\#(service)","kind":"job","queue":"\#(queue)","job":"\#(job)","job_id":"\#(id)","event":"\#(event)","attempt":\#(attempt)\#(duration)}"#
                    )
                    jobEvents[service, default: [:]][event, default: 0] += 1
                }
                var attempt = 1
                while true {
                    emit("enqueued", t, attempt: attempt)
                    t += 100 + Int64(rng.next() % 4_000)
                    emit("started", t, attempt: attempt)
                    let duration = (rng.unit() * 3_000_000).rounded() / 1000
                    t += Int64(duration)
                    if attempt == 1 && rng.chance(0.3) {
                        emit("failed", t, durationMs: duration, attempt: attempt)
                        emit("retried", t, attempt: attempt)
                        t += 10_000
                        attempt += 1
                        continue
                    }
                    emit(rng.chance(0.1) ? "failed" : "succeeded", t, durationMs: duration, attempt: attempt)
                    break
                }
            }
        }

        // The funnel: every entity starts; most confirm, some order.
        for n in 0..<40 {
            let entity = "user-\(n)"
            var t = time(&rng, minAgeMs: 600_000)
            for (k, step) in Self.funnelSteps.enumerated() {
                if k > 0 && rng.chance(0.35) { break }
                lines.append(
                    #"{"ts":\#(t),"service":"dash-web","kind":"event","event":"\#(step)","entity":"\#(entity)"}"#)
                if k == 0 { entered.insert(entity) }
                t += 1_000 + Int64(rng.next() % 120_000)
            }
        }
    }

    /// The NDJSON body of every line.
    var body: [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }
}
