import Foundation

/// The body of Alertmanager's `POST /api/v2/alerts`.
public enum AlertmanagerPayload {
    /// `[{labels, annotations, startsAt, endsAt, generatorURL}]`; `endsAt` left out when unknown.
    public static func object(_ alerts: [Alert]) -> [[String: Any]] {
        alerts.map { alert in
            var object: [String: Any] = [
                "labels": alert.labels.dictionary,
                "annotations": alert.annotations,
                "startsAt": GoTime.rfc3339(milliseconds: alert.startsAt),
                "generatorURL": alert.generatorURL,
            ]
            if let endsAt = alert.endsAt { object["endsAt"] = GoTime.rfc3339(milliseconds: endsAt) }
            return object
        }
    }

    /// The JSON bytes (keys sorted).
    public static func body(_ alerts: [Alert]) -> Data {
        JSONPayload.data(object(alerts))
    }

    /// The body for a notification's alerts.
    public static func body(_ notification: AlertNotification) -> Data {
        body(notification.alerts)
    }
}
