import Foundation
import OpsightTestSupport
import Testing

/// SPEC §6: `GET /metrics` after a realistic corpus passes `promtool check metrics` with no output, and its
/// figures agree with the JSON API and with the events sent.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct MetricsExpositionTests {
    @Test func exposesEveryFamilyCleanlyUnderPromtoolWithFiguresMatchingTheEvents() async throws {
        try await withOpsightServer("metrics") { server, card in
            let now = E2EEnvironment.nowMs
            var rng = SeededGenerator(seed: 42)
            var lines: [String] = []
            var classes: [String: Int] = [:]
            var perService: [String: Int] = [:]
            for i in 0..<3_000 {
                let service = ["expo-a", "expo-b"][i % 2]
                let status = [200, 201, 302, 404, 500, 503][Int.random(in: 0..<6, using: &rng)]
                let ts = now - 180_000 - Int64.random(in: 0..<1_200_000, using: &rng)
                let route = ["/x", "/y/\\\"q", "/z/:id"][i % 3]
                lines.append(
                    #"{"ts":\#(ts),"service":"\#(service)","route":"\#(route)","method":"GET","status":\#(status),"duration_ms":\#(Double.random(in: 0...900, using: &rng))}"#
                )
                classes["\(service) \(status / 100)xx", default: 0] += 1
                perService[service, default: 0] += 1
                if i % 3 == 0 {
                    lines.append(
                        #"{"ts":\#(ts),"service":"\#(service)","kind":"job","queue":"q","job":"ai","job_id":"\#(i)","event":"\#(["enqueued", "started", "succeeded", "failed"][i % 4])","duration_ms":5}"#
                    )
                    lines.append(#"{"ts":\#(ts),"service":"\#(service)","level":"warn","msg":"m"}"#)
                }
            }
            let response = try await server.client.ingest(
                Array((lines.joined(separator: "\n") + "\n").utf8), gzip: true)
            card.equal(response.status, 200, "ingest status")

            var text = ""
            let deadline = ContinuousClock.now + .seconds(20)
            repeat {
                let r = try await server.client.request(.get, "/metrics", token: server.readToken)
                card.equal(r.status, 200, "GET /metrics status")
                text = String(decoding: r.body, as: UTF8.self)
                if Self.value(text, "opsight_service_request_rate", ["service": "expo-a", "window": "1h"]).map({
                    Int(($0 * 3600).rounded())
                })
                    == perService["expo-a"]
                {
                    break
                }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline

            // promtool: exit 0 and nothing printed.
            try await Self.promtoolCheck(text, in: server.directory, card, "the full scrape")

            for (service, n) in perService {
                let rate = Self.value(text, "opsight_service_request_rate", ["service": service, "window": "1h"])
                card.equal(rate.map { Int(($0 * 3600).rounded()) }, n, "1h request rate × 3600 of \(service)")
            }
            for (key, n) in classes {
                let parts = key.split(separator: " ").map(String.init)
                let total = Self.samples(text, "opsight_requests_total")
                    .filter { $0.labels["service"] == parts[0] && $0.labels["code_class"] == parts[1] }
                    .reduce(0.0) { $0 + $1.value }
                card.equal(Int(total), n, "opsight_requests_total of \(key)")
            }
            for family in [
                "opsight_request_latency_seconds", "opsight_request_error_ratio", "opsight_service_latency_seconds",
                "opsight_job_duration_seconds", "opsight_job_failure_ratio", "opsight_jobs_total",
                "opsight_log_lines_total",
                "opsight_ingest_events_total", "opsight_wal_bytes", "opsight_pending_delta_bytes", "opsight_build_info",
            ] {
                card.check(!Self.samples(text, family).isEmpty, "family \(family) has samples")
            }
            // `?window=`: the request, job and funnel families of those windows only, line for line a full scrape's,
            // and clean too.
            func windowLines(_ text: String, _ windows: [String]) -> [Substring] {
                text.split(separator: "\n").filter { line in windows.contains { line.contains(#"window="\#($0)""#) } }
            }
            // Compared between two full scrapes that agree: the 1d figures come from the durable store's minutes,
            // which may still be catching up with the events when the 1h ones already hold them all.
            var subsetText = ""
            var kept: [Substring] = []
            let settle = ContinuousClock.now + .seconds(20)
            repeat {
                let before = windowLines(
                    String(
                        decoding: try await server.client.request(.get, "/metrics", token: server.readToken).body,
                        as: UTF8.self), ["1h", "1d"])
                let subset = try await server.client.request(
                    .get, "/metrics?window=1d&window=1h", token: server.readToken)
                card.equal(subset.status, 200, "GET /metrics?window=1d&window=1h status")
                subsetText = String(decoding: subset.body, as: UTF8.self)
                kept = windowLines(
                    String(
                        decoding: try await server.client.request(.get, "/metrics", token: server.readToken).body,
                        as: UTF8.self), ["1h", "1d"])
                if before == kept { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < settle
            card.check(kept.count > 20, "the full scrape has 1h and 1d lines (\(kept.count))")
            card.equal(
                windowLines(subsetText, ["1h", "1d"]), kept, "the subset's 1h and 1d lines are the full scrape's")
            card.equal(windowLines(subsetText, ["1m", "5m", "15m", "6h"]).count, 0, "the subset has no other window")
            card.equal(
                Self.samples(subsetText, "opsight_requests_total").count,
                Self.samples(text, "opsight_requests_total").count,
                "the subset has every counter")
            try await Self.promtoolCheck(subsetText, in: server.directory, card, "the subset")
            let unknown = try await server.client.request(.get, "/metrics?window=2h", token: server.readToken)
            card.equal(unknown.status, 400, "/metrics?window=2h (not configured)")

            let noToken = try await server.client.request(.get, "/metrics", token: nil)
            card.equal(noToken.status, 401, "/metrics without a token when public_metrics is false")
        }
    }

    /// `promtool check metrics` on `text`: exit 0 and nothing printed.
    static func promtoolCheck(_ text: String, in directory: URL, _ card: Scorecard, _ what: String) async throws {
        let path = directory.appendingPathComponent("metrics.txt").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let result = try await Promtool.run(["check", "metrics"], stdinPath: path, in: directory)
        let lint = result.stdout + result.stderr
        card.equal(result.status, 0, "promtool check metrics on \(what): exit status; output: \(lint.prefix(2000))")
        card.equal(lint, "", "promtool check metrics output on \(what)")
    }

    struct Sample {
        var labels: [String: String]
        var value: Double
    }

    /// Samples of one family from the text format (label values here contain no commas or braces but `\"`).
    static func samples(_ text: String, _ name: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line -> Sample? in
            guard line.hasPrefix(name + "{") || line.hasPrefix(name + " ") else { return nil }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                return nil
            }
            var labels: [String: String] = [:]
            if let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") {
                let body = String(line[line.index(after: open)..<close])
                let pattern = try! NSRegularExpression(pattern: #"(\w+)="((?:[^"\\]|\\.)*)""#)
                for m in pattern.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
                    labels[String(body[Range(m.range(at: 1), in: body)!])] = String(
                        body[Range(m.range(at: 2), in: body)!])
                }
            }
            return Sample(labels: labels, value: value)
        }
    }

    static func value(_ text: String, _ name: String, _ match: [String: String]) -> Double? {
        samples(text, name).first { s in match.allSatisfy { s.labels[$0.key] == $0.value } }?.value
    }
}
