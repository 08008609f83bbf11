import Foundation
import Testing

/// SPEC §8 delivery guarantees with the real binary: a notification written to the outbox before a `kill -9`
/// is delivered exactly once after the restart (and the restored state does not notify again); of two
/// processes on the same stores only the lease holder notifies, and the other takes over when it dies.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct AlertingFailoverTests {
    static func configure(_ server: OpsightServer, webhook: String) throws {
        try Data(
            """
            groups:
              - name: failover
                interval: 1s
                rules:
                  - alert: HighErrorRatio
                    expr: opsight_service_error_ratio{window="1m"} > 0.05
                    for: 1s
                    labels: {severity: critical}

            """.utf8
        ).write(to: server.directory.appendingPathComponent("rules.yml"))
        server.extraConfig = """
            windows: [1m]
            alerting:
              rule_files: [rules.yml]
              evaluation_interval: 1s
              route: {receiver: hook, group_by: [alertname, service], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
              receivers: [{name: hook, webhook: {url: "\(webhook)/hook"}}]

            """
    }

    static func burst(_ server: OpsightServer, service: String) async throws -> Int {
        let now = E2EEnvironment.nowMs
        let lines = (0..<100).map { i in
            #"{"ts":\#(now),"service":"\#(service)","route":"/r","method":"GET","status":\#(i < 60 ? 500 : 200),"duration_ms":5}"#
        }
        return try await server.client.ingest(Array((lines.joined(separator: "\n") + "\n").utf8)).status
    }

    /// Firing notifications received for `service`.
    static func firing(_ sink: WebhookSink, service: String) -> Int {
        sink.requests.filter {
            $0.json?["status"] as? String == "firing"
                && ($0.json?["groupLabels"] as? [String: String])?["service"] == service
        }.count
    }

    static func evaluates(_ server: OpsightServer) async -> Bool {
        let r = try? await server.client.request(.get, "/api/v1/rules", token: server.readToken, timeout: .seconds(5))
        return r?.text.contains("\"lastEvaluation\"") ?? false
    }

    /// Runs `body`, then stops the servers; prints their logs when something failed.
    @Test func aNotificationInTheOutboxAtKillNineIsDeliveredOnceAfterRestart() async throws {
        let port = try OpsightServer.freePort()
        let server = try OpsightServer(label: "alert-crash")
        try Self.configure(server, webhook: "http://127.0.0.1:\(port)")
        try await withOpsightServers([server]) { card in
            try await server.start()
            try await eventually("the rules evaluated") { (await Self.evaluates(server), "not yet") }
            card.equal(try await Self.burst(server, service: "checkout"), 200, "burst acknowledged")
            // The receiver is down: the firing notification is in the outbox, its first attempt failed.
            try await eventually("the notification written and attempted", timeout: .seconds(20)) {
                let log = try await server.client.request(.get, "/api/v1/notifications", token: server.readToken)
                return (log.text.contains("\"state\":\"pending\"") && log.text.contains("\"last_error\""), log.text)
            }
            await server.crash()
            let sink = WebhookSink()
            try await sink.serve(port: port) { _ in
                try await server.start()
                try await eventually("delivery after the restart", timeout: .seconds(60)) {
                    (Self.firing(sink, service: "checkout") >= 1, "\(sink.requests.count) received")
                }
                // Several evaluation and group intervals later: still the one notification.
                try await Task.sleep(for: .seconds(5))
                card.equal(Self.firing(sink, service: "checkout"), 1, "exactly one firing notification")
                card.equal(sink.requests.count, 1, "nothing else was sent")
                let log = try await server.client.request(.get, "/api/v1/notifications", token: server.readToken)
                card.equal(log.text.components(separatedBy: "\"id\"").count - 1, 1, "one notification in the log: \(log.text)")
                card.check(log.text.contains("\"state\":\"delivered\""), "recorded as delivered: \(log.text)")
            }
        }
    }

    @Test func twoProcessesSendOneNotificationAndTheSurvivorTakesOver() async throws {
        let sink = WebhookSink()
        try await sink.serve { base in
            let a = try OpsightServer(label: "alert-a")
            let b = try OpsightServer(label: "alert-b", sharing: a)
            try Self.configure(a, webhook: base)
            try Self.configure(b, webhook: base)
            try await withOpsightServers([a, b]) { card in
                try await a.start()
                try await b.start()
                try await eventually("one of them evaluates") {
                    let (ea, eb) = (await Self.evaluates(a), await Self.evaluates(b))
                    return (ea || eb, "a: \(ea), b: \(eb)")
                }
                let (ea, eb) = (await Self.evaluates(a), await Self.evaluates(b))
                card.check(ea != eb, "exactly one process evaluates (a: \(ea), b: \(eb))")
                let (leader, follower) = ea ? (a, b) : (b, a)
                // Sent to the follower: the leader evaluates over the shared Redis.
                card.equal(try await Self.burst(follower, service: "checkout"), 200, "burst acknowledged")
                try await eventually("the firing notification", timeout: .seconds(20)) {
                    (Self.firing(sink, service: "checkout") >= 1, "\(sink.requests.count) received")
                }
                try await Task.sleep(for: .seconds(4))
                card.equal(Self.firing(sink, service: "checkout"), 1, "one notification for the group, not two")

                await leader.crash()
                let killedAt = E2EEnvironment.nowMs
                card.equal(try await Self.burst(follower, service: "billing"), 200, "second burst acknowledged")
                try await eventually("the survivor notifies", timeout: .seconds(30)) {
                    (Self.firing(sink, service: "billing") >= 1, "\(sink.requests.count) received")
                }
                let tookOver = (sink.requests.last?.atMs ?? 0) - killedAt
                card.check(tookOver <= 15_000, "took over and notified within \(tookOver) ms of the kill (≤ 15 s)")
                try await Task.sleep(for: .seconds(3))
                card.equal(Self.firing(sink, service: "checkout"), 1, "the survivor restored the state: no repeat")
                card.equal(Self.firing(sink, service: "billing"), 1, "one notification for the new group")
            }
        }
    }
}
