import Foundation
import PromQL
import Testing

@testable import Alerting

/// Steps a manual time through Prometheus's state machine, one evaluation per minute.
@Suite struct AlertingRuleTests {
    static let minute: Int64 = 60_000
    static let series: Labels = ["__name__": "opsight_service_error_ratio", "service": "api", "window": "5m"]

    static func rule(for hold: Int64 = 5, keepFiringFor: Int64 = 0) throws -> AlertingRule {
        AlertingRule(
            rule: AlertRule(
                name: "HighErrorRatio",
                expression: try Parser.parse(#"opsight_service_error_ratio{window="5m"} > 0.05"#),
                holdDuration: .minutes(hold), keepFiringFor: .minutes(keepFiringFor),
                labels: [TemplatedLabel(name: "severity", template: try Template("critical", name: "x"))],
                annotations: [
                    TemplatedLabel(
                        name: "summary",
                        template: try Template("{{ $labels.service }} at {{ $value | humanizePercentage }}", name: "x"))
                ]))
    }

    static func sample(_ value: Double) -> [Sample] { [Sample(labels: series, value: value)] }

    static let alertLabels: Labels = [
        "alertname": "HighErrorRatio", "service": "api", "severity": "critical", "window": "5m",
    ]

    @Test func goesPendingThenFiringAfterForThenResolves() throws {
        var rule = try Self.rule()
        var states: [AlertState?] = []
        // Condition holds at minutes 1…7, clears at 8.
        for minute in Int64(1)...8 {
            _ = try rule.apply(minute <= 7 ? Self.sample(0.0625) : [], at: minute * Self.minute)
            states.append(rule.active[Self.alertLabels]?.state)
        }
        #expect(states == [.pending, .pending, .pending, .pending, .pending, .firing, .firing, .inactive])
        let alert = try #require(rule.active[Self.alertLabels])
        #expect(alert.activeAt == 1 * Self.minute)
        #expect(alert.firedAt == 6 * Self.minute)
        #expect(alert.resolvedAt == 8 * Self.minute)
        #expect(alert.annotations == ["summary": "api at 6.25%"])
    }

    @Test func pendingAlertIsDroppedWhenConditionClears() throws {
        var rule = try Self.rule()
        _ = try rule.apply(Self.sample(0.1), at: 0)
        let transitions = try rule.apply([], at: Self.minute)
        #expect(rule.active.isEmpty)
        #expect(transitions.map(\.to) == [nil])
        #expect(transitions.map(\.from) == [.pending])
    }

    @Test func forZeroFiresAtFirstEvaluation() throws {
        var rule = try Self.rule(for: 0)
        let transitions = try rule.apply(Self.sample(0.1), at: 0)
        #expect(rule.active[Self.alertLabels]?.state == .firing)
        #expect(transitions.map(\.to) == [.pending, .firing])
    }

    @Test func keepFiringForHoldsFiringUntilItElapses() throws {
        var rule = try Self.rule(for: 0, keepFiringFor: 3)
        _ = try rule.apply(Self.sample(0.1), at: 0)
        var states: [AlertState?] = []
        for minute in Int64(1)...4 {
            _ = try rule.apply([], at: minute * Self.minute)
            states.append(rule.active[Self.alertLabels]?.state)
        }
        // keepFiringSince = 1m: still firing at 1m, 2m, 3m (< 3m elapsed), resolved at 4m.
        #expect(states == [.firing, .firing, .firing, .inactive])
        #expect(rule.active[Self.alertLabels]?.resolvedAt == 4 * Self.minute)
    }

    @Test func keepFiringForResetsWhenConditionReturns() throws {
        var rule = try Self.rule(for: 0, keepFiringFor: 2)
        _ = try rule.apply(Self.sample(0.1), at: 0)
        _ = try rule.apply([], at: Self.minute)
        _ = try rule.apply(Self.sample(0.1), at: 2 * Self.minute)
        _ = try rule.apply([], at: 3 * Self.minute)
        _ = try rule.apply([], at: 4 * Self.minute)
        #expect(rule.active[Self.alertLabels]?.state == .firing)
        _ = try rule.apply([], at: 5 * Self.minute)
        #expect(rule.active[Self.alertLabels]?.state == .inactive)
    }

    @Test func resolvedAlertIsKeptFifteenMinutesThenDropped() throws {
        var rule = try Self.rule(for: 0)
        _ = try rule.apply(Self.sample(0.1), at: 0)
        _ = try rule.apply([], at: Self.minute)
        _ = try rule.apply([], at: 16 * Self.minute)
        #expect(rule.active[Self.alertLabels]?.state == .inactive)
        _ = try rule.apply([], at: 16 * Self.minute + 1)
        #expect(rule.active.isEmpty)
    }

    @Test func refiringAfterResolveStartsNewPendingAlert() throws {
        var rule = try Self.rule(for: 2)
        _ = try rule.apply(Self.sample(0.1), at: 0)
        _ = try rule.apply(Self.sample(0.1), at: 2 * Self.minute)
        _ = try rule.apply([], at: 3 * Self.minute)
        _ = try rule.apply(Self.sample(0.1), at: 4 * Self.minute)
        let alert = try #require(rule.active[Self.alertLabels])
        #expect(alert.state == .pending)
        #expect(alert.activeAt == 4 * Self.minute)
        #expect(alert.resolvedAt == nil)
    }

    @Test func valueAndAnnotationsAreReexpandedEachEvaluation() throws {
        var rule = try Self.rule()
        _ = try rule.apply(Self.sample(0.0625), at: 0)
        _ = try rule.apply(Self.sample(0.125), at: Self.minute)
        #expect(rule.active[Self.alertLabels]?.annotations["summary"] == "api at 12.5%")
        #expect(rule.active[Self.alertLabels]?.value == 0.125)
        #expect(rule.active[Self.alertLabels]?.activeAt == 0)
    }

    @Test func rejectsDuplicateLabelSetsAfterDroppingName() throws {
        var rule = try Self.rule()
        let samples = [
            Sample(labels: ["__name__": "a", "service": "api", "window": "5m"], value: 1),
            Sample(labels: ["__name__": "b", "service": "api", "window": "5m"], value: 1),
        ]
        #expect(throws: RuleEvaluationError.self) { try rule.apply(samples, at: 0) }
        #expect(rule.active.isEmpty)
    }

    @Test func limitDropsAllAlertsAndFails() throws {
        var rule = try Self.rule()
        let samples = ["a", "b"].map { Sample(labels: ["service": $0], value: 1) }
        #expect(throws: RuleEvaluationError("exceeded limit of 1 with 2 alerts")) {
            try rule.apply(samples, at: 0, limit: 1)
        }
        #expect(rule.active.isEmpty)
    }

    @Test func sendsFiringAlertsWithResendDelayAndResolvedOnce() throws {
        var rule = try Self.rule(for: 0)
        let delay = Self.minute
        _ = try rule.apply(Self.sample(0.1), at: 0)
        let first = rule.alertsToSend(
            at: 0, resendDelay: delay, interval: 15_000, context: AlertContext(externalURL: "http://o"))
        #expect(first.count == 1)
        #expect(first.first?.startsAt == 0)
        #expect(first.first?.endsAt == 4 * delay)
        #expect(
            first.first?.generatorURL
                == "http://o/graph?g0.expr=opsight_service_error_ratio%7Bwindow%3D%225m%22%7D+%3E+0.05&g0.tab=1")
        #expect(rule.alertsToSend(at: 30_000, resendDelay: delay, interval: 15_000).isEmpty)
        #expect(rule.alertsToSend(at: 60_000, resendDelay: delay, interval: 15_000).isEmpty)
        #expect(rule.alertsToSend(at: 60_001, resendDelay: delay, interval: 15_000).count == 1)
        _ = try rule.apply([], at: 90_000)
        let resolved = rule.alertsToSend(at: 90_000, resendDelay: delay, interval: 15_000)
        #expect(resolved.map(\.endsAt) == [90_000])
        #expect(resolved.first?.isResolved(at: 90_000) == true)
    }

    @Test func pendingAlertsAreNotSent() throws {
        var rule = try Self.rule()
        _ = try rule.apply(Self.sample(0.1), at: 0)
        #expect(rule.alertsToSend(at: 0, resendDelay: Self.minute, interval: Self.minute).isEmpty)
    }
}
