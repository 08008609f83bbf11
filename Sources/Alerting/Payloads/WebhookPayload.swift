import Foundation

/// Alertmanager's webhook payload, version 4, for a notification.
public enum WebhookPayload {
    /// The payload as a JSON object: `version`, `groupKey`, `truncatedAlerts`, `status`,
    /// `receiver`, `groupLabels`, `commonLabels`, `commonAnnotations`, `externalURL`, `alerts`
    /// (at most `maxAlerts` when > 0; common labels are computed over all of them).
    public static func object(_ notification: AlertNotification, externalURL: String, maxAlerts: Int = 0) -> [String:
        Any]
    {
        let count = notification.alerts.count
        let kept = maxAlerts > 0 ? min(maxAlerts, count) : count
        let alerts = zip(notification.alerts, notification.alertStatuses).prefix(kept).map { alert, status in
            [
                "status": status.rawValue,
                "labels": alert.labels.dictionary,
                "annotations": alert.annotations,
                "startsAt": GoTime.rfc3339(milliseconds: alert.startsAt),
                "endsAt": status == .resolved
                    ? GoTime.rfc3339(milliseconds: alert.endsAt ?? alert.startsAt) : GoTime.zero,
                "generatorURL": alert.generatorURL,
                "fingerprint": alert.fingerprint.description,
            ] as [String: Any]
        }
        return [
            "version": "4",
            "groupKey": notification.groupKey,
            "truncatedAlerts": count - kept,
            "status": notification.status.rawValue,
            "receiver": notification.receiver,
            "groupLabels": notification.groupLabels,
            "commonLabels": notification.commonLabels,
            "commonAnnotations": notification.commonAnnotations,
            "externalURL": externalURL,
            "alerts": alerts,
        ]
    }

    /// The payload's JSON bytes (keys sorted).
    public static func body(_ notification: AlertNotification, externalURL: String, maxAlerts: Int = 0) -> Data {
        JSONPayload.data(object(notification, externalURL: externalURL, maxAlerts: maxAlerts))
    }
}
