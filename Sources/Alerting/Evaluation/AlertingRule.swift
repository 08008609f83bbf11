import PromQL

/// An alerting rule with the state of its alerts: Prometheus's `rules.AlertingRule` as a value
/// type whose transitions are pure functions of the evaluation result and the given time.
public struct AlertingRule: Hashable, Sendable {
    /// How long a resolved alert is kept (and re-sent) after resolving: 15 minutes.
    public static let resolvedRetention: Int64 = 15 * 60_000

    /// The rule definition.
    public let rule: AlertRule
    /// The alerts by label set.
    public private(set) var active: [Labels: ActiveAlert] = [:]

    /// A rule without alerts.
    public init(rule: AlertRule) {
        self.rule = rule
    }

    /// The alerts sorted by labels.
    public var alerts: [ActiveAlert] { active.values.sorted { $0.labels < $1.labels } }

    /// Applies the result of evaluating the rule's expression at `now` (unix ms): new alerts
    /// become pending, pending ones fire after `for`, vanished ones resolve (after
    /// `keep_firing_for`) and are dropped after `resolvedRetention`. Returns the state changes.
    ///
    /// Throws without changing state when two results have the same labels after the rule's
    /// labels are applied; throws and drops every alert when more than `limit` (> 0) are active.
    public mutating func apply(
        _ samples: [Sample], at now: Int64, context: AlertContext = AlertContext(), limit: Int = 0
    ) throws(RuleEvaluationError) -> [AlertTransition] {
        var results: [Labels: ActiveAlert] = [:]
        for sample in samples {
            let data = TemplateData.alert(
                labels: sample.labels.dictionary, value: sample.value, externalLabels: context.externalLabels,
                externalURL: context.externalURL)
            var labels = sample.labels.droppingMetricName()
            for label in rule.labels { labels = labels.setting(label.name, to: label.template.expand(data)) }
            labels = labels.setting("alertname", to: rule.name)
            var annotations: [String: String] = [:]
            for annotation in rule.annotations { annotations[annotation.name] = annotation.template.expand(data) }
            guard results[labels] == nil else {
                throw RuleEvaluationError("vector contains metrics with the same labelset after applying alert labels")
            }
            results[labels] = ActiveAlert(
                state: .pending, labels: labels, annotations: annotations, value: sample.value, activeAt: now)
        }
        var transitions: [AlertTransition] = []
        for (labels, fresh) in results {
            if var alert = active[labels], alert.state != .inactive {
                alert.value = fresh.value
                alert.annotations = fresh.annotations
                active[labels] = alert
            } else {
                transitions.append(
                    AlertTransition(
                        labels: labels, from: active[labels]?.state, to: .pending, at: now, value: fresh.value))
                active[labels] = fresh
            }
        }
        var count = 0
        for (labels, var alert) in active {
            if results[labels] == nil {
                var keepFiring = false
                if alert.state == .firing && rule.keepFiringFor.milliseconds > 0 {
                    let since = alert.keepFiringSince ?? now
                    alert.keepFiringSince = since
                    keepFiring = now - since < rule.keepFiringFor.milliseconds
                }
                let expired = alert.resolvedAt.map { now - $0 > Self.resolvedRetention } ?? false
                if alert.state == .pending || expired {
                    active[labels] = nil
                    if alert.state != .inactive || expired {
                        transitions.append(
                            AlertTransition(labels: labels, from: alert.state, to: nil, at: now, value: alert.value))
                    }
                    continue
                }
                if alert.state != .inactive && !keepFiring {
                    transitions.append(
                        AlertTransition(labels: labels, from: alert.state, to: .inactive, at: now, value: alert.value))
                    alert.state = .inactive
                    alert.resolvedAt = now
                }
                active[labels] = alert
                if !keepFiring { continue }
            } else {
                alert.keepFiringSince = nil
            }
            count += 1
            if alert.state == .pending && now - alert.activeAt >= rule.holdDuration.milliseconds {
                alert.state = .firing
                alert.firedAt = now
                transitions.append(
                    AlertTransition(labels: labels, from: .pending, to: .firing, at: now, value: alert.value))
            }
            active[labels] = alert
        }
        if limit > 0 && count > limit {
            active = [:]
            throw RuleEvaluationError("exceeded limit of \(limit) with \(count) alerts")
        }
        return transitions.sorted { $0.labels < $1.labels }
    }

    /// The alerts to hand to the dispatcher at `now`, as Prometheus's `sendAlerts`: firing alerts
    /// not sent for `resendDelay`, and resolved ones not sent since resolving. Marks them sent
    /// and valid until `4 × max(resendDelay, interval)` from now.
    public mutating func alertsToSend(
        at now: Int64, resendDelay: Int64, interval: Int64, context: AlertContext = AlertContext()
    ) -> [Alert] {
        var result: [Alert] = []
        let generatorURL = context.externalURL + "/graph?g0.expr=" + rule.query.queryEscaped + "&g0.tab=1"
        for (labels, var alert) in active where alert.needsSending(at: now, resendDelay: resendDelay) {
            alert.lastSentAt = now
            alert.validUntil = now + 4 * max(resendDelay, interval)
            active[labels] = alert
            var outgoing = labels
            for (name, value) in context.externalLabels.sorted(by: { $0.key < $1.key }) where outgoing[name] == nil {
                outgoing = outgoing.setting(name, to: value)
            }
            result.append(
                Alert(
                    labels: outgoing, annotations: alert.annotations, startsAt: alert.firedAt ?? alert.activeAt,
                    endsAt: alert.resolvedAt ?? alert.validUntil, generatorURL: generatorURL))
        }
        return result.sorted { $0.labels < $1.labels }
    }

    /// Replaces the alerts with `alerts` (from a snapshot), keeping their states and times: a
    /// pending alert keeps counting `for` from its original start, a firing one is not re-sent
    /// before its resend delay.
    public mutating func restore(_ alerts: [ActiveAlert]) {
        active = Dictionary(alerts.map { ($0.labels, $0) }, uniquingKeysWith: { $1 })
    }

    /// How many alerts are in `state`.
    public func count(_ state: AlertState) -> Int { active.values.filter { $0.state == state }.count }
}
