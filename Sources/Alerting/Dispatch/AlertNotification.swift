import Foundation
import PromQL

/// One message to one receiver about one aggregation group: what the outbox stores and a
/// notifier delivers. Its `id` is the `Idempotency-Key`; a firing and its later resolved are two
/// notifications with two ids, and so are a notification and its repeat after `repeat_interval`.
public struct AlertNotification: Hashable, Sendable, Codable {
    /// The id, sent as `Idempotency-Key`: derived from the transition (``NotificationID``), so the same
    /// notification made again carries the same id.
    public var id: UUID
    /// The receiver's name.
    public var receiver: String
    /// Alertmanager's group key, e.g. `{}/{severity="critical"}:{alertname="HighErrorRatio"}`.
    public var groupKey: String
    /// `resolved` when every alert is resolved, else `firing`.
    public var status: AlertStatus
    /// The alerts, sorted; resolved ones only when the receiver sends resolved.
    public var alerts: [Alert]
    /// The status of each alert at `createdAt`, parallel to `alerts`.
    public var alertStatuses: [AlertStatus]
    /// The group's labels.
    public var groupLabels: [String: String]
    /// When it was made (unix ms).
    public var createdAt: Int64

    /// Creates a notification.
    public init(
        id: UUID, receiver: String, groupKey: String, alerts: [Alert], groupLabels: [String: String], createdAt: Int64
    ) {
        self.id = id
        self.receiver = receiver
        self.groupKey = groupKey
        self.alerts = alerts
        self.alertStatuses = alerts.map { $0.status(at: createdAt) }
        self.status = alertStatuses.allSatisfy { $0 == .resolved } ? .resolved : .firing
        self.groupLabels = groupLabels
        self.createdAt = createdAt
    }

    /// Labels every alert has with the same value.
    public var commonLabels: [String: String] {
        Self.common(alerts.map(\.labels.dictionary))
    }

    /// Annotations every alert has with the same value.
    public var commonAnnotations: [String: String] {
        Self.common(alerts.map(\.annotations))
    }

    /// How many alerts are firing.
    public var firingCount: Int { alertStatuses.filter { $0 == .firing }.count }

    private static func common(_ maps: [[String: String]]) -> [String: String] {
        guard var result = maps.first else { return [:] }
        for map in maps.dropFirst() { result = result.filter { map[$0.key] == $0.value } }
        return result
    }
}
