import Foundation
import PromQL
import Testing

@testable import Alerting

/// Notification ids come from the transition, so a notification made twice (two processes for a moment after a
/// lease loss, a restore from the store, a step repeated after a restart) carries one `Idempotency-Key`.
@Suite struct NotificationIDTests {
    static let second: Int64 = 1000
    static let minute: Int64 = 60_000

    static func config() throws -> DispatchConfig {
        try DispatchConfig.parse(yaml: DispatcherTests.defaultYAML, file: "c.yaml")
    }

    /// The first notification of a dispatcher that restored `state` and first ticks at `start`.
    static func firstNotification(state: DispatcherState, start: Int64, alerts: [Alert]) throws -> AlertNotification {
        var dispatcher = Dispatcher(config: try config(), state: state)
        dispatcher.receive(alerts, now: start)
        return try #require(DispatcherTests.run(&dispatcher, from: start, to: start + 10 * minute).first?.1)
    }

    @Test func theSameTransitionMadeByTwoProcessesHasOneID() throws {
        let alerts = [
            DispatcherTests.alert("A", endsAt: 100 * Self.minute),
            DispatcherTests.alert("B", endsAt: 100 * Self.minute),
        ]
        // One process, and another that took over with the state the first had committed, flushing seconds later.
        var first = Dispatcher(config: try Self.config())
        first.receive(alerts, now: 0)
        let saved = first.state
        let a = try #require(DispatcherTests.run(&first, from: 0, to: Self.minute).first?.1)
        let b = try Self.firstNotification(state: saved, start: 40 * Self.second, alerts: alerts.reversed())
        #expect(a.createdAt != b.createdAt)
        #expect(a.id == b.id)
        // Restarted from scratch (nothing committed yet): the same first notification again.
        let c = try Self.firstNotification(state: DispatcherState(), start: 3 * Self.second, alerts: alerts)
        #expect(c.createdAt != a.createdAt)
        #expect(c.id == a.id)
    }

    @Test func newsGetsANewID() throws {
        var dispatcher = Dispatcher(config: try Self.config())
        dispatcher.receive([DispatcherTests.alert("A", endsAt: 200 * Self.minute)], now: 0)
        let repeats = DispatcherTests.run(&dispatcher, from: 0, to: 70 * Self.minute)
        // The first notification and its repeat after repeat_interval are two messages.
        #expect(repeats.count == 2)
        #expect(repeats[0].1.id != repeats[1].1.id)
        // A resolved is news; so is another firing of the same alert (a new fire time).
        dispatcher.receive([DispatcherTests.alert("A", endsAt: 71 * Self.minute)], now: 71 * Self.minute)
        let resolved = try #require(
            DispatcherTests.run(&dispatcher, from: 71 * Self.minute, to: 80 * Self.minute).first)
        #expect(resolved.1.status == .resolved)
        #expect(!repeats.map(\.1.id).contains(resolved.1.id))
        let again = try Self.firstNotification(
            state: DispatcherState(), start: 90 * Self.minute,
            alerts: [DispatcherTests.alert("A", startsAt: 90 * Self.minute, endsAt: 200 * Self.minute)])
        #expect(again.id != repeats[0].1.id)
        // Another receiver of the same group is another message.
        let text = NotificationID.group(
            receiver: "other", groupKey: repeats[0].1.groupKey, alerts: repeats[0].1.alerts,
            statuses: repeats[0].1.alertStatuses, previousAt: nil)
        #expect(text != repeats[0].1.id)
    }

    @Test func forwardedAlertsOfOneEvaluationHaveOneID() {
        let alerts = [DispatcherTests.alert("A"), DispatcherTests.alert("B", endsAt: 5)]
        let id = NotificationID.forward(receiver: "am", alerts: alerts, evaluatedAt: 15_000)
        #expect(NotificationID.forward(receiver: "am", alerts: alerts.reversed(), evaluatedAt: 15_000) == id)
        #expect(NotificationID.forward(receiver: "am", alerts: alerts, evaluatedAt: 30_000) != id)
        #expect(NotificationID.forward(receiver: "am2", alerts: alerts, evaluatedAt: 15_000) != id)
        // A well-formed UUID (version 8, RFC variant), as receivers may parse the key.
        #expect(id.uuidString.dropFirst(14).first == "8")
        #expect(["8", "9", "A", "B"].contains(id.uuidString.dropFirst(19).first))
    }
}
