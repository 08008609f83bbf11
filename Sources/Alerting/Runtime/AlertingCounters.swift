import Synchronization

/// What alerting counts for Opsight's own families: rule evaluations, alerts by state, delivery outcomes.
public final class AlertingCounters: Sendable {
    /// Rule evaluations so far (`opsight_rule_evaluations_total`).
    public let ruleEvaluations = Atomic<UInt64>(0)
    /// Failed rule evaluations (`opsight_rule_evaluation_failures_total`).
    public let ruleEvaluationFailures = Atomic<UInt64>(0)
    /// Alerts pending after the last evaluation (`opsight_alerts{state="pending"}`).
    public let alertsPending = Atomic<Int>(0)
    /// Alerts firing after the last evaluation (`opsight_alerts{state="firing"}`).
    public let alertsFiring = Atomic<Int>(0)
    private let notifications = Mutex<[NotificationCount: UInt64]>([:])

    /// A label pair of `opsight_notifications_total`.
    public struct NotificationCount: Hashable, Sendable {
        public var receiver: String
        public var outcome: String
    }

    /// Starts at zero.
    public init() {}

    /// Counts a delivery attempt of a notification (`sent`, `retry`, `failed`).
    public func recordNotification(receiver: String, outcome: String) {
        notifications.withLock { $0[NotificationCount(receiver: receiver, outcome: outcome), default: 0] += 1 }
    }

    /// Delivery attempts by receiver and outcome.
    public var notificationCounts: [NotificationCount: UInt64] { notifications.withLock { $0 } }
}
