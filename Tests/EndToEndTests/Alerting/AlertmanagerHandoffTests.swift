import Foundation
import OpsightTestSupport
import Testing

/// SPEC §8: an existing Alertmanager can take over routing. A real `prometheus-alertmanager` (Debian package)
/// on loopback receives Opsight's alerts on `/api/v2/alerts` and delivers them to its own webhook receiver.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct AlertmanagerHandoffTests {
    static let binary = "/usr/bin/prometheus-alertmanager"

    @Test func alertmanagerReceivesOpsightsAlertsAndDeliversThem() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.binary),
            "prometheus-alertmanager is not installed (scripts/stores.sh deps installs it)")
        let sink = WebhookSink()
        try await sink.serve { base in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "opsight-am-\(E2EEnvironment.randomID(6))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let amPort = try OpsightServer.freePort()
            try Data(
                """
                route: {receiver: sink, group_by: [alertname, service], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
                receivers:
                  - name: sink
                    webhook_configs: [{url: "\(base)/from-alertmanager", send_resolved: true}]

                """.utf8
            ).write(to: dir.appendingPathComponent("alertmanager.yml"))
            let am = Process()
            am.executableURL = URL(fileURLWithPath: Self.binary)
            am.arguments = [
                "--config.file=\(dir.path)/alertmanager.yml", "--storage.path=\(dir.path)/data",
                "--web.listen-address=127.0.0.1:\(amPort)", "--cluster.listen-address=",
            ]
            let log = dir.appendingPathComponent("alertmanager.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            am.standardOutput = handle
            am.standardError = handle
            try am.run()
            defer { ChildExit.stop(am, signal: SIGTERM) }
            try await withOpsightServer(
                "alertmanager",
                configure: { server in
                    try Data(
                        """
                        groups:
                          - name: am
                            interval: 1s
                            rules:
                              - alert: HighErrorRatio
                                expr: opsight_service_error_ratio{window="1m"} > 0.05
                                for: 1s
                                labels: {severity: critical}
                                annotations: {summary: '{{ $labels.service }} is failing'}

                        """.utf8
                    ).write(to: server.directory.appendingPathComponent("rules.yml"))
                    server.extraConfig = """
                        windows: [1m]
                        alerting:
                          rule_files: [rules.yml]
                          evaluation_interval: 1s
                          external_url: http://opsight.test:9400
                          route: {receiver: am, group_wait: 1s, group_interval: 1s}
                          receivers: [{name: am, alertmanager: {url: "http://127.0.0.1:\(amPort)"}}]

                        """
                }
            ) { server, card in
                let now = E2EEnvironment.nowMs
                let lines = (0..<100).map { i in
                    #"{"ts":\#(now),"service":"checkout","route":"/r","method":"GET","status":\#(i < 60 ? 500 : 200),"duration_ms":5}"#
                }
                card.equal(
                    try await server.client.ingest(Array((lines.joined(separator: "\n") + "\n").utf8)).status, 200,
                    "burst acknowledged")
                try await eventually("Alertmanager delivers the alert to its webhook", timeout: .seconds(30)) {
                    (sink.requests.contains { $0.path == "/from-alertmanager" }, "\(sink.requests.count) received")
                }
                let delivered = try #require(sink.requests.first { $0.path == "/from-alertmanager" }?.json)
                card.equal(delivered["status"] as? String, "firing", "status from Alertmanager")
                card.equal(delivered["receiver"] as? String, "sink", "Alertmanager's receiver")
                let alert = (delivered["alerts"] as? [[String: Any]])?.first ?? [:]
                card.equal(
                    alert["labels"] as? [String: String],
                    ["alertname": "HighErrorRatio", "service": "checkout", "window": "1m", "severity": "critical"],
                    "labels as Opsight sent them")
                card.equal((alert["annotations"] as? [String: String])?["summary"], "checkout is failing", "annotation")
                card.check(
                    (alert["generatorURL"] as? String)?.hasPrefix("http://opsight.test:9400") == true,
                    "generatorURL links back to Opsight: \(alert["generatorURL"] ?? "nil")")
                // Opsight's own record of the hand-off.
                let log = try await server.client.request(.get, "/api/v1/notifications", token: server.readToken)
                card.check(
                    log.text.contains("\"integration\":\"alertmanager\"")
                        && log.text.contains("\"state\":\"delivered\""),
                    "the hand-off is in the notification log: \(log.text)")
            }
        }
    }
}
