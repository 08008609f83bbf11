import Crypto
import Foundation
import Testing

/// SPEC §8 end to end: the real binary evaluates a rule file over what it ingested, and the webhook receiver
/// gets the firing notification within evaluation interval + `for` + `group_wait` + 1 s, signed, in
/// Alertmanager's version-4 shape; after recovery the resolved one arrives.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct AlertingEndToEndTests {
    static let secret = "e2e-secret"

    static func rules() -> String {
        """
        groups:
          - name: e2e
            interval: 1s
            rules:
              - alert: HighErrorRatio
                expr: opsight_service_error_ratio{service="checkout",window="1m"} > 0.05
                for: 2s
                labels: {severity: critical}
                annotations:
                  summary: '{{ $labels.service }} errors at {{ $value | humanizePercentage }}'
        """
    }

    static func lines(service: String, count: Int, status: Int) -> [UInt8] {
        let now = E2EEnvironment.nowMs
        let text = (0..<count).map { i in
            #"{"ts":\#(now),"service":"\#(service)","route":"/pay","method":"POST","status":\#(status),"duration_ms":\#(i % 50)}"#
        }
        return Array((text.joined(separator: "\n") + "\n").utf8)
    }

    static func verifySignature(_ r: WebhookSink.Received) -> Bool {
        guard let ts = r.headers["x-opsight-timestamp"], let sig = r.headers["x-opsight-signature"] else {
            return false
        }
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(ts.utf8) + Array(".".utf8) + r.body, using: SymmetricKey(data: Array(secret.utf8)))
        return sig == "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    @Test func anErrorBurstFiresTheRuleAndRecoveryResolvesIt() async throws {
        let sink = WebhookSink()
        try await sink.serve { base in
            try await withOpsightServer(
                "alerting",
                configure: { server in
                    let rulesDir = server.directory.appendingPathComponent("rules")
                    try FileManager.default.createDirectory(at: rulesDir, withIntermediateDirectories: true)
                    try Data(Self.rules().utf8).write(to: rulesDir.appendingPathComponent("e2e.yml"))
                    server.extraConfig = """
                        windows: [1m, 5m]
                        alerting:
                          rule_files: [rules/*.yml]
                          evaluation_interval: 1s
                          external_url: http://opsight.test:9400
                          route: {receiver: hook, group_by: [alertname, service], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
                          receivers:
                            - {name: hook, webhook: {url: "\(base)/hook", hmac_secret: "\(Self.secret)"}}

                        """
                }
            ) { server, card in

                // The rule is evaluated (this process holds the lease) before the burst is sent.
                try await eventually("the rule group evaluated") {
                    let r = try await server.client.request(.get, "/api/v1/rules", token: server.readToken)
                    return (r.text.contains("\"lastEvaluation\""), r.text)
                }
                let sent = E2EEnvironment.nowMs
                var r = try await server.client.ingest(Self.lines(service: "checkout", count: 60, status: 500))
                card.equal(r.status, 200, "error burst acknowledged")
                r = try await server.client.ingest(Self.lines(service: "checkout", count: 40, status: 200))
                card.equal(r.status, 200, "successes acknowledged")
                let acked = E2EEnvironment.nowMs

                try await eventually("the firing notification", timeout: .seconds(20)) {
                    (!sink.requests.isEmpty, "\(sink.requests.count) requests")
                }
                let firing = try #require(sink.requests.first)
                // SPEC §11: evaluation interval (1 s) + for (2 s) + group_wait (1 s) + 1 s = 5 s. It cannot come before
                // `for` + `group_wait` have passed since the ack. The upper check allows 2 s for a CI machine that
                // runs every suite at once; the figure itself is printed, and stays near 4 s on a quiet machine.
                let latency = firing.atMs - acked
                print("e2e[alerting]: firing notification received \(latency) ms after the ack (SPEC §11 target ≤ 5000)")
                card.check(
                    firing.atMs - sent >= 3_000,
                    "firing arrived \(firing.atMs - sent) ms after the burst was sent, before for + group_wait had passed")
                card.check(latency <= 7_000, "firing arrived \(latency) ms after the ack (≤ 5000 + 2000 allowance)")
                card.check(Self.verifySignature(firing), "X-Opsight-Signature verifies")
                card.equal(firing.headers["idempotency-key"]?.isEmpty, false, "Idempotency-Key present")
                let payload = try #require(firing.json)
                card.equal(payload["version"] as? String, "4", "version")
                card.equal(payload["status"] as? String, "firing", "status")
                card.equal(payload["receiver"] as? String, "hook", "receiver")
                card.equal(payload["externalURL"] as? String, "http://opsight.test:9400", "externalURL")
                card.equal(
                    payload["groupLabels"] as? [String: String],
                    ["alertname": "HighErrorRatio", "service": "checkout"],
                    "groupLabels")
                let alerts = payload["alerts"] as? [[String: Any]] ?? []
                card.equal(alerts.count, 1, "one alert")
                let alert = alerts.first ?? [:]
                card.equal(alert["status"] as? String, "firing", "alert status")
                card.equal(
                    alert["labels"] as? [String: String],
                    ["alertname": "HighErrorRatio", "service": "checkout", "window": "1m", "severity": "critical"],
                    "labels")
                card.equal(
                    (alert["annotations"] as? [String: String])?["summary"], "checkout errors at 60%",
                    "summary annotation")
                card.equal(alert["endsAt"] as? String, "0001-01-01T00:00:00Z", "endsAt while firing")

                let firingAlerts = try await server.client.request(.get, "/api/v1/alerts", token: server.readToken)
                card.check(
                    firingAlerts.text.contains("\"state\":\"firing\""),
                    "/api/v1/alerts lists it firing: \(firingAlerts.text)")

                // Recovery: enough successes to bring the 1m error ratio under 5 %.
                r = try await server.client.ingest(Self.lines(service: "checkout", count: 1_200, status: 200))
                card.equal(r.status, 200, "recovery acknowledged")
                try await eventually("the resolved notification", timeout: .seconds(20)) {
                    (sink.requests.count >= 2, "\(sink.requests.count) requests")
                }
                let resolved = try #require(sink.requests.dropFirst().first?.json)
                card.equal(resolved["status"] as? String, "resolved", "resolved status")
                let resolvedAlert = (resolved["alerts"] as? [[String: Any]])?.first ?? [:]
                card.check((resolvedAlert["endsAt"] as? String) != "0001-01-01T00:00:00Z", "endsAt set when resolved")
                card.check(
                    sink.requests[1].headers["idempotency-key"] != firing.headers["idempotency-key"],
                    "a resolved notification has its own id")

                try await eventually("both notifications recorded as delivered") {
                    let log = try await server.client.request(.get, "/api/v1/notifications", token: server.readToken)
                    let delivered = log.text.components(separatedBy: "\"state\":\"delivered\"").count - 1
                    return (delivered == 2, log.text)
                }
                let history = try await server.client.request(.get, "/api/v1/alerts/history", token: server.readToken)
                for state in ["pending", "firing", "resolved"] {
                    card.check(history.text.contains("\"state\":\"\(state)\""), "history has \(state)")
                }
            }
        }
    }
}
