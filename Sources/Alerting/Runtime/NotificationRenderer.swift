import Foundation

/// Turns a notification into the HTTP request that delivers it to its receiver, for the outbox.
public enum NotificationRenderer {
    /// The outbox message for `notification` sent to `receiver`.
    public static func render(_ notification: AlertNotification, receiver: Receiver, externalURL: String) -> OutboxMessage {
        let body: Data
        let url: String
        let integration: String
        switch receiver.kind {
        case .slack(let slack):
            body = SlackPayload.body(notification, receiver: slack, externalURL: externalURL)
            url = slack.url
            integration = "slack"
        case .webhook(let webhook):
            body = WebhookPayload.body(notification, externalURL: externalURL, maxAlerts: webhook.maxAlerts)
            url = webhook.url
            integration = "webhook"
        case .alertmanager(let alertmanager):
            body = AlertmanagerPayload.body(notification)
            url = alertmanager.alertsURL
            integration = "alertmanager"
        }
        return OutboxMessage(
            id: notification.id, receiver: receiver.name, integration: integration, groupKey: notification.groupKey,
            status: notification.status.rawValue, alerts: notification.alerts.count, url: url,
            headers: headers(id: notification.id), body: Array(body))
    }

    /// Alerts of one evaluation posted straight to an Alertmanager receiver, as Prometheus does, so that an
    /// existing Alertmanager can take over routing (re-sent while firing, `endsAt` set once resolved).
    public static func forward(_ alerts: [Alert], to receiver: AlertmanagerReceiver, name: String, id: UUID) -> OutboxMessage {
        let resolved = alerts.filter { $0.endsAt != nil }.count
        return OutboxMessage(
            id: id, receiver: name, integration: "alertmanager", groupKey: "{}", status: resolved == alerts.count ? "resolved" : "firing",
            alerts: alerts.count, url: receiver.alertsURL, headers: headers(id: id),
            body: Array(AlertmanagerPayload.body(alerts)))
    }

    /// The delivery worker adds `Idempotency-Key` (the id) and, for signed webhooks, the signature.
    static func headers(id: UUID) -> [String: String] {
        ["Content-Type": "application/json", "User-Agent": "Opsight-Alerting"]
    }
}
