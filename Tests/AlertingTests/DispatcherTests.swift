import Foundation
import PromQL
import Testing

@testable import Alerting

@Suite struct DispatcherTests {
    static let second: Int64 = 1000
    static let minute: Int64 = 60_000

    static func dispatcher(_ yaml: String = defaultYAML) throws -> Dispatcher {
        Dispatcher(config: try DispatchConfig.parse(yaml: yaml, file: "c.yaml"))
    }

    static let defaultYAML = """
        route: {receiver: hook, group_by: [alertname], group_wait: 30s, group_interval: 5m, repeat_interval: 1h}
        inhibit_rules:
          - source_matchers: ['severity="critical"']
            target_matchers: ['severity="warning"']
            equal: [service]
        receivers:
          - {name: hook, webhook: {url: "http://x"}}
        """

    static func alert(
        _ name: String, service: String = "api", severity: String = "critical", startsAt: Int64 = 0,
        endsAt: Int64? = nil
    )
        -> Alert
    {
        Alert(
            labels: ["alertname": name, "service": service, "severity": severity],
            annotations: ["summary": "\(name) on \(service)"],
            startsAt: startsAt, endsAt: endsAt)
    }

    /// Ticks every second from `from` to `to` and returns (time, notification) pairs.
    static func run(_ dispatcher: inout Dispatcher, from: Int64, to: Int64, silences: Silences = Silences()) -> [(
        Int64, AlertNotification
    )] {
        var sent: [(Int64, AlertNotification)] = []
        var now = from
        while now <= to {
            sent += dispatcher.tick(now: now, silences: silences).map { (now, $0) }
            now += second
        }
        return sent
    }

    @Test func waitsGroupWaitThenGroupIntervalThenRepeatInterval() throws {
        var dispatcher = try Self.dispatcher()
        dispatcher.receive([Self.alert("A", endsAt: 10 * Self.minute)], now: 0)
        #expect(dispatcher.nextFlushAt == 30 * Self.second)
        var sent = Self.run(&dispatcher, from: 0, to: 2 * Self.minute)
        #expect(sent.map(\.0) == [30 * Self.second])
        #expect(sent.first?.1.alerts.count == 1 && sent.first?.1.status == .firing)

        // A second alert joins the group: sent at the next group_interval flush (30s + 5m).
        dispatcher.receive(
            [Self.alert("A", service: "web", startsAt: 2 * Self.minute, endsAt: 10 * Self.minute)], now: 2 * Self.minute
        )
        sent = Self.run(&dispatcher, from: 2 * Self.minute + Self.second, to: 6 * Self.minute)
        #expect(sent.map(\.0) == [5 * Self.minute + 30 * Self.second])
        #expect(sent.first?.1.alerts.map { $0.labels["service"] } == ["api", "web"])
    }

    @Test func repeatsUnchangedFiringGroupAfterRepeatInterval() throws {
        var dispatcher = try Self.dispatcher()
        let open = Self.alert("A", endsAt: 200 * Self.minute)
        dispatcher.receive([open], now: 0)
        let sent = Self.run(&dispatcher, from: 0, to: 125 * Self.minute)
        // 0:30 first; unchanged flushes every 5m are deduplicated until 1h has passed: 1:05:30, 2:10:30.
        #expect(sent.map(\.0) == [30 * Self.second, 65 * Self.minute + 30 * Self.second])
        #expect(Set(sent.map(\.1.id)).count == 2, "each notification has its own id")
    }

    @Test func sendsResolvedAtNextFlushThenForgetsGroup() throws {
        var dispatcher = try Self.dispatcher()
        dispatcher.receive([Self.alert("A", endsAt: 100 * Self.minute)], now: 0)
        _ = Self.run(&dispatcher, from: 0, to: Self.minute)
        dispatcher.receive([Self.alert("A", endsAt: 2 * Self.minute)], now: 2 * Self.minute)
        let sent = Self.run(&dispatcher, from: 2 * Self.minute, to: 10 * Self.minute)
        #expect(sent.map(\.0) == [5 * Self.minute + 30 * Self.second])
        let resolved = try #require(sent.first?.1)
        #expect(resolved.status == .resolved)
        #expect(resolved.alerts.first?.startsAt == 0)
        #expect(dispatcher.state.groups.isEmpty)
        #expect(dispatcher.state.alerts.isEmpty)
    }

    @Test func sendResolvedFalseSkipsResolvedOnlyGroups() throws {
        var dispatcher = try Self.dispatcher(
            "route: {receiver: hook, group_wait: 0s, group_interval: 1m}\nreceivers:\n  - {name: hook, webhook: {url: \"http://x\", send_resolved: false}}\n"
        )
        dispatcher.receive(
            [Self.alert("A", endsAt: 100 * Self.minute), Self.alert("B", endsAt: 100 * Self.minute)], now: 0)
        #expect(dispatcher.tick(now: 0).count == 1)
        dispatcher.receive([Self.alert("A", endsAt: 30 * Self.second)], now: 30 * Self.second)
        let partly = dispatcher.tick(now: Self.minute)
        #expect(partly.isEmpty, "only a resolution changed, and resolved alerts are not sent")
        dispatcher.receive([Self.alert("B", endsAt: 90 * Self.second)], now: 90 * Self.second)
        #expect(dispatcher.tick(now: 2 * Self.minute).isEmpty)
        #expect(dispatcher.state.groups.isEmpty)
    }

    @Test func oldAlertSkipsGroupWait() throws {
        var dispatcher = try Self.dispatcher()
        dispatcher.receive([Self.alert("A", startsAt: 0, endsAt: 100 * Self.minute)], now: 10 * Self.minute)
        #expect(dispatcher.tick(now: 10 * Self.minute).count == 1)
    }

    @Test func alertWithoutEndResolvesAfterResolveTimeout() throws {
        var dispatcher = try Self.dispatcher()
        dispatcher.receive([Self.alert("A")], now: 0)
        let sent = Self.run(&dispatcher, from: 0, to: 11 * Self.minute)
        #expect(sent.map(\.1.status) == [.firing, .resolved])
        #expect(sent.map(\.0) == [30 * Self.second, 5 * Self.minute + 30 * Self.second])
    }

    @Test func firingCriticalInhibitsWarningWithSameService() throws {
        var dispatcher = try Self.dispatcher()
        dispatcher.receive(
            [
                Self.alert("Down", endsAt: 100 * Self.minute),
                Self.alert("Slow", severity: "warning", endsAt: 100 * Self.minute),
                Self.alert("Slow", service: "web", severity: "warning", endsAt: 100 * Self.minute),
            ], now: 0)
        let sent = dispatcher.tick(now: 30 * Self.second)
        #expect(sent.map(\.groupKey) == [#"{}:{alertname="Down"}"#, #"{}:{alertname="Slow"}"#])
        #expect(sent.last?.alerts.map { $0.labels["service"] } == ["web"])
    }

    @Test func silencedAlertsAreNotNotified() throws {
        var dispatcher = try Self.dispatcher()
        var silences = Silences()
        _ = try silences.add(
            Silence(
                matchers: [SilenceMatcher(name: "service", value: "api")], startsAt: 0, endsAt: 5 * Self.minute,
                createdBy: "me", comment: "deploy"),
            at: 0)
        dispatcher.receive(
            [Self.alert("A", endsAt: 100 * Self.minute), Self.alert("A", service: "web", endsAt: 100 * Self.minute)],
            now: 0)
        let sent = dispatcher.tick(now: 30 * Self.second, silences: silences)
        #expect(sent.first?.alerts.map { $0.labels["service"] } == ["web"])
        // The silence expired: api is new to the notification log, so it is sent at the next flush.
        let later = dispatcher.tick(now: 5 * Self.minute + 30 * Self.second, silences: silences)
        #expect(later.first?.alerts.map { $0.labels["service"] } == ["api", "web"])
    }

    @Test func stateSurvivesRestartWithoutRenotifying() throws {
        var dispatcher = try Self.dispatcher()
        dispatcher.receive([Self.alert("A", endsAt: 100 * Self.minute)], now: 0)
        #expect(dispatcher.tick(now: 30 * Self.second).count == 1)
        let data = try JSONEncoder().encode(dispatcher.state)
        var restored = Dispatcher(
            config: dispatcher.config, state: try JSONDecoder().decode(DispatcherState.self, from: data))
        restored.receive([Self.alert("A", endsAt: 100 * Self.minute)], now: Self.minute)
        #expect(Self.run(&restored, from: Self.minute, to: 30 * Self.minute).isEmpty)
    }

    @Test func notificationComputesCommonLabelsAndAnnotations() throws {
        var dispatcher = try Self.dispatcher()
        dispatcher.receive(
            [Self.alert("A", endsAt: 100 * Self.minute), Self.alert("A", service: "web", endsAt: 100 * Self.minute)],
            now: 0)
        let notification = try #require(dispatcher.tick(now: 30 * Self.second).first)
        #expect(notification.groupLabels == ["alertname": "A"])
        #expect(notification.commonLabels == ["alertname": "A", "severity": "critical"])
        #expect(notification.commonAnnotations == [:])
        #expect(notification.receiver == "hook")
    }
}
