import Crypto
import Foundation
import PromQL
import Testing

@testable import Alerting

@Suite struct PayloadTests {
    static let start: Int64 = 1_714_564_800_000  // 2024-05-01T12:00:00Z

    static func notification(resolvedWeb: Bool = false) -> AlertNotification {
        let api = Alert(
            labels: ["alertname": "HighErrorRatio", "service": "api", "severity": "critical"],
            annotations: ["summary": "api failing", "runbook": "r"], startsAt: start, endsAt: start + 600_000,
            generatorURL: "http://o/graph?g0.expr=x&g0.tab=1")
        let web = Alert(
            labels: ["alertname": "HighErrorRatio", "service": "web", "severity": "critical"],
            annotations: ["summary": "web failing", "runbook": "r"], startsAt: start + 250,
            endsAt: resolvedWeb ? start + 60_000 : start + 600_000)
        return AlertNotification(
            id: UUID(uuidString: "00000000-0000-0000-0000-000000000001")!, receiver: "oncall",
            groupKey: #"{}:{alertname="HighErrorRatio"}"#, alerts: [api, web],
            groupLabels: ["alertname": "HighErrorRatio"],
            createdAt: start + 120_000)
    }

    static func json(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func webhookPayloadIsAlertmanagerVersion4() throws {
        let body = WebhookPayload.body(
            Self.notification(resolvedWeb: true), externalURL: "http://opsight:9400", maxAlerts: 1)
        let object = try Self.json(body)
        #expect(
            Set(object.keys) == [
                "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
                "commonAnnotations", "externalURL", "alerts",
            ])
        #expect(object["version"] as? String == "4")
        #expect(object["groupKey"] as? String == #"{}:{alertname="HighErrorRatio"}"#)
        #expect(object["truncatedAlerts"] as? Int == 1)
        #expect(object["status"] as? String == "firing")
        #expect(object["receiver"] as? String == "oncall")
        #expect(object["groupLabels"] as? [String: String] == ["alertname": "HighErrorRatio"])
        #expect(object["commonLabels"] as? [String: String] == ["alertname": "HighErrorRatio", "severity": "critical"])
        #expect(object["commonAnnotations"] as? [String: String] == ["runbook": "r"])
        #expect(object["externalURL"] as? String == "http://opsight:9400")
        let alerts = try #require(object["alerts"] as? [[String: Any]])
        #expect(alerts.count == 1)
        let alert = alerts[0]
        #expect(
            Set(alert.keys) == ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"])
        #expect(alert["status"] as? String == "firing")
        #expect(alert["startsAt"] as? String == "2024-05-01T12:00:00Z")
        #expect(alert["endsAt"] as? String == "0001-01-01T00:00:00Z")
        #expect(alert["generatorURL"] as? String == "http://o/graph?g0.expr=x&g0.tab=1")
        #expect(
            alert["fingerprint"] as? String
                == Fingerprint(["alertname": "HighErrorRatio", "service": "api", "severity": "critical"]).description)
        #expect(
            String(decoding: body, as: UTF8.self).hasPrefix(
                #"{"alerts":[{"annotations":{"runbook":"r","summary":"api failing"},"endsAt":"0001-01-01T00:00:00Z","#))
    }

    @Test func webhookPayloadOfResolvedAlertCarriesEndsAt() throws {
        let object = try Self.json(WebhookPayload.body(Self.notification(resolvedWeb: true), externalURL: ""))
        let alerts = try #require(object["alerts"] as? [[String: Any]])
        #expect(alerts[1]["status"] as? String == "resolved")
        #expect(alerts[1]["endsAt"] as? String == "2024-05-01T12:01:00Z")
        #expect(alerts[1]["startsAt"] as? String == "2024-05-01T12:00:00.25Z")
    }

    @Test func slackMessageUsesAlertmanagerTitleAndColour() throws {
        let receiver = SlackReceiver(url: "https://hooks", channel: "#ops", username: "opsight")
        let object = try Self.json(
            SlackPayload.body(Self.notification(), receiver: receiver, externalURL: "http://opsight:9400"))
        #expect(object["channel"] as? String == "#ops")
        #expect(object["username"] as? String == "opsight")
        let attachment = try #require((object["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["color"] as? String == "danger")
        #expect(attachment["title"] as? String == "[FIRING:2] HighErrorRatio (critical)")
        #expect(attachment["title_link"] as? String == "http://opsight:9400")
        #expect(attachment["fallback"] as? String == "[FIRING:2] HighErrorRatio (critical) | http://opsight:9400")
        #expect(attachment["text"] as? String == "• api failing\n• web failing")
    }

    @Test func slackResolvedIsGoodAndCustomTemplatesApply() throws {
        var notification = Self.notification(resolvedWeb: true)
        notification = AlertNotification(
            id: notification.id, receiver: "r", groupKey: "k", alerts: [notification.alerts[1]],
            groupLabels: ["alertname": "HighErrorRatio", "service": "web", "severity": "critical"],
            createdAt: notification.createdAt)
        let receiver = SlackReceiver(
            url: "https://hooks",
            text: try Template(
                #"{{ range .Alerts }}{{ .Labels.service }}={{ .Status }} {{ end }}{{ .CommonLabels.severity | toUpper }}"#,
                name: "text", dialect: .alertmanager))
        let attachment = try #require(
            (try Self.json(SlackPayload.body(notification, receiver: receiver, externalURL: "")))["attachments"]
                as? [[String: Any]]
        ).first
        #expect(attachment?["color"] as? String == "good")
        #expect(attachment?["title"] as? String == "[RESOLVED] HighErrorRatio web critical ")
        #expect(attachment?["text"] as? String == "web=resolved CRITICAL")
    }

    @Test func alertmanagerBodyListsAlerts() throws {
        let data = AlertmanagerPayload.body([
            Alert(
                labels: ["alertname": "A"], annotations: ["s": "x"], startsAt: Self.start, endsAt: Self.start + 1500,
                generatorURL: "g")
        ])
        let alerts = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(alerts.count == 1)
        #expect(Set(alerts[0].keys) == ["labels", "annotations", "startsAt", "endsAt", "generatorURL"])
        #expect(alerts[0]["labels"] as? [String: String] == ["alertname": "A"])
        #expect(alerts[0]["endsAt"] as? String == "2024-05-01T12:00:01.5Z")
    }

    /// HMAC built by hand from SHA-256 (RFC 2104), independent of `HMAC<SHA256>`.
    static func referenceHMAC(key: [UInt8], message: [UInt8]) -> String {
        var block = key.count > 64 ? Array(SHA256.hash(data: key)) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        let inner = Array(SHA256.hash(data: block.map { $0 ^ 0x36 } + message))
        let outer = SHA256.hash(data: block.map { $0 ^ 0x5c } + inner)
        return outer.map { String(format: "%02x", $0) }.joined()
    }

    @Test func webhookSignatureIsHMACOfTimestampDotBody() throws {
        let body = Data(#"{"version":"4"}"#.utf8)
        let headers = WebhookSignature.headers(secret: "s3cret", body: body, timestamp: 1_714_564_800)
        #expect(headers.map(\.name) == ["X-Opsight-Timestamp", "X-Opsight-Signature"])
        #expect(headers[0].value == "1714564800")
        let expected = Self.referenceHMAC(key: Array("s3cret".utf8), message: Array("1714564800.".utf8) + Array(body))
        #expect(headers[1].value == "sha256=" + expected)
        #expect(
            WebhookSignature.verify(header: headers[1].value, secret: "s3cret", body: body, timestamp: 1_714_564_800))
        #expect(
            !WebhookSignature.verify(header: headers[1].value, secret: "other", body: body, timestamp: 1_714_564_800))
        #expect(
            !WebhookSignature.verify(header: headers[1].value, secret: "s3cret", body: body, timestamp: 1_714_564_801))
    }

    @Test func rfc4231TestCase2MatchesReference() {
        // HMAC-SHA256("Jefe", "what do ya want for nothing?") from RFC 4231.
        #expect(
            Self.referenceHMAC(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func fingerprintIsFNV1aOverSortedLabels() {
        #expect(Fingerprint(.empty).description == "cbf29ce484222325")
        // FNV-1a of "a" 0xff "b" 0xff, computed step by step.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in [UInt8(ascii: "a"), 0xff, UInt8(ascii: "b"), 0xff] {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        #expect(Fingerprint(["a": "b"]).value == hash)
        #expect(Fingerprint(["a": "bc"]) != Fingerprint(["ab": "c"]))
        #expect(Fingerprint(["x": "1", "y": "2"]) == Fingerprint(Labels([("y", "2"), ("x", "1")])))
    }
}
