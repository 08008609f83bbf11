import Foundation
import PromQL
import Testing

@testable import Alerting

@Suite struct RuleGroupEvaluatorTests {
    static let minute: Int64 = 60_000

    static func group(_ yaml: String) throws -> RuleGroup {
        try #require(try RuleSet.load([RuleFileSource(path: "r.yml", text: yaml)]).groups.first)
    }

    static let yaml = """
        groups:
          - name: g
            rules:
              - record: service:errors:ratio
                expr: opsight_service_error_ratio{window="5m"}
                labels: {source: opsight}
              - alert: HighErrors
                expr: service:errors:ratio > 0.05
                for: 2m
                labels: {severity: critical}
                annotations: {summary: "{{ $labels.service }} {{ $value }}"}
        """

    @Test func laterRulesSeeSamplesRecordedByEarlierOnes() async throws {
        var evaluator = RuleGroupEvaluator(group: try Self.group(Self.yaml))
        var source = InMemorySampleSource()
        var firing: [Int64] = []
        for minute in Int64(0)...3 {
            source.add(
                ["__name__": "opsight_service_error_ratio", "service": "api", "window": "5m"], value: 0.125,
                at: minute * Self.minute)
            let outcome = await evaluator.evaluate(at: minute * Self.minute, source: source)
            #expect(outcome.failures.isEmpty)
            #expect(
                outcome.recorded == [
                    Sample(
                        labels: [
                            "__name__": "service:errors:ratio", "service": "api", "source": "opsight", "window": "5m",
                        ], value: 0.125)
                ])
            if !outcome.alerts.isEmpty { firing.append(minute) }
        }
        #expect(firing == [2])
        #expect(evaluator.evaluationsTotal == 8)
        #expect(evaluator.failuresTotal == 0)
        let alert = try #require(evaluator.alertingRules[1]?.alerts.first)
        #expect(
            alert.labels == [
                "alertname": "HighErrors", "service": "api", "severity": "critical", "source": "opsight",
                "window": "5m",
            ])
        #expect(alert.annotations == ["summary": "api 0.125"])
        #expect(evaluator.alertCounts[.firing] == 1)
    }

    @Test func countsFailuresAndKeepsStateWhenQueryFails() async throws {
        var evaluator = RuleGroupEvaluator(group: try Self.group(Self.yaml))
        struct Down: Error {}
        let outcome = await evaluator.evaluate(at: 0) { _, _ in throw Down() }
        #expect(outcome.failures.map(\.rule) == ["service:errors:ratio", "HighErrors"])
        #expect(evaluator.failuresTotal == 2)
        #expect(evaluator.lastErrors.count == 2)
    }

    @Test func snapshotRestoresPendingStartAndDoesNotResendFiring() async throws {
        let group = try Self.group(Self.yaml)
        var evaluator = RuleGroupEvaluator(group: group)
        var source = InMemorySampleSource(lookback: nil)
        source.add(["__name__": "opsight_service_error_ratio", "service": "api", "window": "5m"], value: 0.125, at: 0)
        _ = await evaluator.evaluate(at: 0, source: source)
        _ = await evaluator.evaluate(at: Self.minute, source: source)
        let data = try JSONEncoder().encode(AlertStateSnapshot(takenAt: Self.minute, evaluators: [evaluator]))
        let snapshot = try JSONDecoder().decode(AlertStateSnapshot.self, from: data)

        var restarted = RuleGroupEvaluator(group: group)
        restarted.restore(from: snapshot)
        #expect(restarted.alertingRules[1]?.alerts.first?.activeAt == 0)
        let fired = await restarted.evaluate(at: 2 * Self.minute, source: source)
        #expect(fired.alerts.count == 1)
        #expect(fired.alerts.first?.startsAt == 2 * Self.minute)

        let data2 = try JSONEncoder().encode(AlertStateSnapshot(takenAt: 2 * Self.minute, evaluators: [restarted]))
        var again = RuleGroupEvaluator(group: group)
        again.restore(from: try JSONDecoder().decode(AlertStateSnapshot.self, from: data2))
        let next = await again.evaluate(at: 2 * Self.minute + 15_000, source: source)
        #expect(next.alerts.isEmpty, "a firing alert restored from a snapshot is not re-sent before its resend delay")
        #expect(again.alertingRules[1]?.alerts.first?.state == .firing)
        #expect(again.alertingRules[1]?.alerts.first?.firedAt == 2 * Self.minute)
    }

    @Test func snapshotKeepsNonFiniteValues() throws {
        let alert = ActiveAlert(state: .pending, labels: ["a": "b"], value: .nan, activeAt: 5)
        let decoded = try JSONDecoder().decode(ActiveAlert.self, from: try JSONEncoder().encode(alert))
        #expect(decoded.value.isNaN)
        #expect(decoded.labels == alert.labels && decoded.activeAt == 5)
    }

    /// The shipped rules, evaluated by this module, give the alerts and annotations that
    /// `promtool test rules` expects in alerts/tests (same series, same times).
    @Test func shippedRulesMatchPromtoolExpectations() async throws {
        let directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("alerts").path
        let set = try RuleSet.load(paths: RuleFileGlob.expand(["*.yml"], relativeTo: directory))
        var source = InMemorySampleSource()
        func add(_ labels: Labels, _ value: Double) {
            for minute in Int64(0)...90 { source.add(labels, value: value, at: minute * Self.minute) }
        }
        add(["__name__": "opsight_service_error_ratio", "service": "api", "window": "5m"], 0.0625)
        add(["__name__": "opsight_service_error_ratio", "service": "api", "window": "1h"], 0.02)
        add(["__name__": "opsight_service_latency_seconds", "service": "api", "window": "5m", "quantile": "0.95"], 6.5)
        add(
            [
                "__name__": "opsight_job_failure_ratio", "service": "worker", "queue": "assessments", "job": "ai_call",
                "window": "15m",
            ], 0.125)
        for (window, ratio) in [("1h", 0.25), ("1d", 0.5)] {
            add(
                [
                    "__name__": "opsight_funnel_conversion_ratio", "funnel": "assessment_journey",
                    "step": "report_viewed", "index": "4", "window": window,
                ], ratio)
        }
        var evaluators = set.groups.map { RuleGroupEvaluator(group: $0) }
        var annotations: [String: [String: String]] = [:]
        for minute in Int64(0)...20 {
            for index in evaluators.indices {
                let outcome = await evaluators[index].evaluate(at: minute * Self.minute, source: source)
                #expect(outcome.failures.isEmpty)
                for alert in outcome.alerts { annotations[alert.name] = alert.annotations }
            }
        }
        #expect(
            annotations["OpsightHighErrorRatio"]?["description"]
                == "6.25% of requests to api failed over the last 5 minutes (threshold 5%).")
        #expect(
            annotations["OpsightHighLatencyP95"]?["description"]
                == "p95 latency of api is 6.5s over the last 5 minutes (threshold 5s).")
        #expect(
            annotations["OpsightAICallJobFailing"]?["description"]
                == "12.5% of ai_call jobs on queue assessments failed over the last 15 minutes (threshold 10%).")
        #expect(
            annotations["OpsightAssessmentConversionDrop"]?["description"]
                == "Conversion to report_viewed (step 4) is 25% over the last hour, below 80% of its value over the last day."
        )
        #expect(
            annotations["OpsightErrorBudgetBurnFast"]?["description"]
                == "2% of requests to api failed over the last hour; at this rate 2% of the 30-day budget is spent in an hour."
        )
        #expect(annotations["OpsightElevatedErrorRatio"] == nil, "no 15m series: the warning must not fire")
    }
}
