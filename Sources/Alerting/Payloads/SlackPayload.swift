import Foundation

/// A Slack incoming-webhook message for a notification: one attachment, coloured by status.
public enum SlackPayload {
    /// Alertmanager's default Slack title: `[FIRING:2] alertname group values (other common values)`.
    public static func defaultTitle(_ notification: AlertNotification) -> String {
        let status = notification.status == .firing ? "FIRING:\(notification.firingCount)" : "RESOLVED"
        let groupValues = sortedValues(notification.groupLabels)
        let extra = notification.commonLabels.filter { notification.groupLabels[$0.key] == nil }
        var title = "[\(status)] \(groupValues.joined(separator: " ")) "
        if notification.commonLabels.count > notification.groupLabels.count {
            title += "(\(sortedValues(extra).joined(separator: " ")))"
        }
        return title
    }

    /// Opsight's default text: one line per alert with its summary (or description, or name).
    public static func defaultText(_ notification: AlertNotification) -> String {
        zip(notification.alerts, notification.alertStatuses).map { alert, status in
            let text = alert.annotations["summary"] ?? alert.annotations["description"] ?? alert.name
            return "• " + text + (status == .resolved && notification.status == .firing ? " (resolved)" : "")
        }
        .joined(separator: "\n")
    }

    /// The message object: `attachments[{color, title, title_link, text, fallback, mrkdwn_in}]`
    /// plus `channel`/`username` when set.
    public static func object(_ notification: AlertNotification, receiver: SlackReceiver, externalURL: String)
        -> [String: Any]
    {
        let data = templateData(notification, externalURL: externalURL)
        let title = receiver.title?.expand(data) ?? defaultTitle(notification)
        let text = receiver.text?.expand(data) ?? defaultText(notification)
        var message: [String: Any] = [
            "attachments": [
                [
                    "color": notification.status == .firing ? "danger" : "good",
                    "title": title,
                    "title_link": externalURL,
                    "text": text,
                    "fallback": title + " | " + externalURL,
                    "mrkdwn_in": ["fallback", "pretext", "text"],
                ] as [String: Any]
            ]
        ]
        if let channel = receiver.channel { message["channel"] = channel }
        if let username = receiver.username { message["username"] = username }
        return message
    }

    /// The message's JSON bytes (keys sorted).
    public static func body(_ notification: AlertNotification, receiver: SlackReceiver, externalURL: String) -> Data {
        JSONPayload.data(object(notification, receiver: receiver, externalURL: externalURL))
    }

    /// Alertmanager's template data for custom titles and texts: `.Status`, `.Receiver`,
    /// `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`, `.ExternalURL`, `.Alerts`.
    public static func templateData(_ notification: AlertNotification, externalURL: String) -> TemplateData {
        let alerts = zip(notification.alerts, notification.alertStatuses).map { alert, status in
            TemplateValue.object([
                "Status": .string(status.rawValue), "Labels": .labels(alert.labels.dictionary),
                "Annotations": .labels(alert.annotations),
                "StartsAt": .string(GoTime.rfc3339(milliseconds: alert.startsAt)),
                "EndsAt": .string(status == .resolved ? GoTime.rfc3339(milliseconds: alert.endsAt ?? 0) : GoTime.zero),
                "GeneratorURL": .string(alert.generatorURL), "Fingerprint": .string(alert.fingerprint.description),
            ])
        }
        return TemplateData(
            dot: .object([
                "Receiver": .string(notification.receiver), "Status": .string(notification.status.rawValue),
                "Alerts": .list(alerts), "GroupLabels": .labels(notification.groupLabels),
                "CommonLabels": .labels(notification.commonLabels),
                "CommonAnnotations": .labels(notification.commonAnnotations), "ExternalURL": .string(externalURL),
            ]),
            externalURL: externalURL)
    }

    /// Values sorted by label name, `alertname` first (Alertmanager's `SortedPairs`).
    private static func sortedValues(_ labels: [String: String]) -> [String] {
        labels.sorted { lhs, rhs in
            if lhs.key == "alertname" || rhs.key == "alertname" {
                return lhs.key == "alertname" && rhs.key != "alertname"
            }
            return lhs.key < rhs.key
        }
        .map(\.value)
    }
}
