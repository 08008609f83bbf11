import Foundation
import PromQL

/// Alertmanager's dispatcher as a state machine: alerts come in with `receive`, `tick` flushes
/// the groups that are due (group_wait, group_interval, repeat_interval), applies inhibition and
/// silences, deduplicates against the notification log, and returns the notifications to deliver.
/// It never reads the clock: `now` (unix ms) travels with each call.
public struct Dispatcher: Sendable {
    /// Settings besides the routing configuration.
    public struct Configuration: Hashable, Sendable {
        /// How long an alert without an end time stays firing (Alertmanager's `resolve_timeout`).
        public var resolveTimeout: PromDuration

        /// Creates settings; default 5m.
        public init(resolveTimeout: PromDuration = .minutes(5)) {
            self.resolveTimeout = resolveTimeout
        }
    }

    /// The routing configuration.
    public let config: DispatchConfig
    /// The settings.
    public let configuration: Configuration
    /// The state (persist it to survive restarts).
    public private(set) var state: DispatcherState
    private let routes: [String: Route]

    /// A dispatcher for `config`, starting from `state` (e.g. restored from storage).
    public init(
        config: DispatchConfig, configuration: Configuration = Configuration(),
        state: DispatcherState = DispatcherState()
    ) {
        self.config = config
        self.configuration = configuration
        self.state = state
        self.routes = Dictionary(config.route.allRoutes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.state.groups = state.groups.filter { routes[$0.value.routeID] != nil }
    }

    /// Takes in alerts (new or updated) at `now`: stores them and adds them to the groups of the
    /// routes they match, creating groups whose first flush is `group_wait` away.
    public mutating func receive(_ alerts: [Alert], now: Int64) {
        for var alert in alerts {
            if alert.endsAt == nil { alert.endsAt = now + configuration.resolveTimeout.milliseconds }
            let fingerprint = alert.fingerprint
            if let old = state.alerts[fingerprint], let oldEnd = old.endsAt, oldEnd >= alert.startsAt,
                old.startsAt < alert.startsAt
            {
                // Overlapping activity: the same alert continues, keep its original start.
                alert.startsAt = old.startsAt
            }
            state.alerts[fingerprint] = alert
            for route in config.route.match(alert.labels) {
                let labels = route.groupLabels(of: alert.labels)
                let id = route.id + ":" + labels.description
                var group =
                    state.groups[id]
                    ?? AggregationGroup(
                        routeID: route.id, groupKey: route.key + ":" + labels.description, receiver: route.receiver,
                        labels: labels.dictionary, fingerprints: [], nextFlushAt: now + route.groupWait.milliseconds,
                        hasFlushed: false)
                group.fingerprints.insert(fingerprint)
                if !group.hasFlushed && alert.startsAt + route.groupWait.milliseconds < now {
                    group.nextFlushAt = min(group.nextFlushAt, now)
                }
                state.groups[id] = group
            }
        }
    }

    /// When the next group is due, if any: call `tick` then.
    public var nextFlushAt: Int64? { state.groups.values.map(\.nextFlushAt).min() }

    /// Flushes every group due at `now` and returns the notifications to send, in group-key order.
    public mutating func tick(now: Int64, silences: Silences = Silences()) -> [AlertNotification] {
        var notifications: [AlertNotification] = []
        let due = state.groups.filter { $0.value.nextFlushAt <= now }.sorted { $0.value.groupKey < $1.value.groupKey }
        for (id, var group) in due {
            guard let route = routes[group.routeID] else {
                state.groups[id] = nil
                continue
            }
            group.nextFlushAt = now + route.groupInterval.milliseconds
            group.hasFlushed = true
            if let notification = flush(group, route: route, now: now, silences: silences) {
                notifications.append(notification)
            }
            group.fingerprints = group.fingerprints.filter { !(state.alerts[$0]?.isResolved(at: now) ?? true) }
            if group.fingerprints.isEmpty {
                state.groups[id] = nil
                state.log[group.groupKey + "|" + group.receiver] = nil
            } else {
                state.groups[id] = group
            }
        }
        let referenced = Set(state.groups.values.flatMap(\.fingerprints))
        state.alerts = state.alerts.filter { referenced.contains($0.key) || !$0.value.isResolved(at: now) }
        return notifications
    }

    /// Whether an alert with `labels` is muted at `now` by an inhibit rule or a silence.
    public func isMuted(_ labels: Labels, at now: Int64, silences: Silences) -> Bool {
        silences.mutes(labels, at: now)
            || config.inhibitRules.contains { $0.mutes(labels, sources: state.alerts.values, at: now) }
    }

    private mutating func flush(
        _ group: AggregationGroup, route: Route, now: Int64, silences: Silences
    ) -> AlertNotification? {
        let alerts = group.fingerprints.compactMap { state.alerts[$0] }.filter {
            !isMuted($0.labels, at: now, silences: silences)
        }
        guard !alerts.isEmpty else { return nil }
        let sendResolved = config.receiver(named: group.receiver)?.sendResolved ?? true
        let firing = Set(alerts.filter { !$0.isResolved(at: now) }.map(\.fingerprint))
        let resolved = Set(alerts.filter { $0.isResolved(at: now) }.map(\.fingerprint))
        let logKey = group.groupKey + "|" + group.receiver
        guard
            NotificationLogEntry.needsUpdate(
                state.log[logKey], firing: firing, resolved: resolved, sendResolved: sendResolved,
                repeatInterval: route.repeatInterval.milliseconds, now: now)
        else { return nil }
        let previousAt = state.log[logKey]?.timestamp
        state.log[logKey] = NotificationLogEntry(firing: firing, resolved: resolved, timestamp: now)
        let sent = Self.sorted(sendResolved ? alerts : alerts.filter { !$0.isResolved(at: now) })
        guard !sent.isEmpty else { return nil }
        let id = NotificationID.group(
            receiver: group.receiver, groupKey: group.groupKey, alerts: sent, statuses: sent.map { $0.status(at: now) },
            previousAt: previousAt)
        return AlertNotification(
            id: id, receiver: group.receiver, groupKey: group.groupKey, alerts: sent, groupLabels: group.labels,
            createdAt: now)
    }

    /// Alertmanager's order: by `job`, then `instance`, then labels.
    static func sorted(_ alerts: [Alert]) -> [Alert] {
        alerts.sorted { lhs, rhs in
            for key in ["job", "instance"] {
                switch (lhs.labels[key], rhs.labels[key]) {
                case (nil, nil): continue
                case (nil, _): return false
                case (_, nil): return true
                case (let left?, let right?) where left != right: return left < right
                default: continue
                }
            }
            return lhs.labels < rhs.labels
        }
    }
}
