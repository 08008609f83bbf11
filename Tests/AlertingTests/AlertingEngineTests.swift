import Foundation
import Logging
import PromQL
import Testing

@testable import Alerting

/// The engine steps a given time through evaluation, dispatch and the outbox: a notification exists exactly when
/// the state that caused it was committed, a restored engine does not notify again, and a failed commit loses
/// nothing.
@Suite struct AlertingEngineTests {
    static let t0: Int64 = 1_795_000_000_000

    static func engine(store: any AlertStore, source: InMemorySampleSource) throws -> AlertingEngine {
        let rules = try RuleSet.load([
            RuleFileSource(
                path: "r.yml",
                text: """
                    groups:
                      - name: g
                        interval: 1s
                        rules:
                          - alert: High
                            expr: x > 1
                            for: 2s
                    """)
        ])
        let dispatch = try DispatchConfig.parse(
            yaml: """
                route: {receiver: hook, group_wait: 3s, group_interval: 5s, repeat_interval: 1h}
                receivers: [{name: hook, webhook: {url: "http://127.0.0.1:1/hook"}}]
                """, file: "d.yml")
        return AlertingEngine(
            configuration: .init(
                rules: rules, dispatch: dispatch, evaluation: .init(evaluationInterval: .seconds(1), context: .init())),
            store: store, source: source, logger: Logger(label: "test"))
    }

    static func source(from: Int64, to: Int64, value: Double) -> InMemorySampleSource {
        var s = InMemorySampleSource(lookback: 1_000)
        for t in stride(from: from, through: to, by: 500) { s.add(["__name__": "x", "job": "a"], value: value, at: t) }
        return s
    }

    @Test func firingNotifiesOnceAfterForAndGroupWait() async throws {
        let store = InMemoryAlertStore()
        let engine = try Self.engine(store: store, source: Self.source(from: Self.t0, to: Self.t0 + 60_000, value: 5))
        var sentAt: [Int64] = []
        for step in 0...20 {
            let now = Self.t0 + Int64(step) * 500
            if !(try await engine.step(now: now)).isEmpty { sentAt.append(now) }
        }
        // pending at t0, firing at t0+2s (for: 2s), first flush group_wait (3 s) after the alert arrived.
        #expect(sentAt == [Self.t0 + 5_000])
        #expect(store.outbox.count == 1)
        #expect(store.outbox.first?.message.status == "firing")
        let history = try await store.history(limit: 10).map(\.state)
        #expect(history.reversed() == ["pending", "firing"])

        // A new engine over the same store (a restart) keeps the alert firing without notifying again.
        let restarted = try Self.engine(store: store, source: Self.source(from: Self.t0, to: Self.t0 + 60_000, value: 5))
        for step in 21...40 { _ = try await restarted.step(now: Self.t0 + Int64(step) * 500) }
        #expect(store.outbox.count == 1)
        #expect(await restarted.stats.firing == 1)
    }

    /// The service sleeps until `nextDue`: stepping only at those times must meet every evaluation and the group's
    /// flush on time, so the notification is written at t0 + for + group_wait, not a tick later.
    @Test func steppingAtNextDueMeetsEveryTimerOnTime() async throws {
        let store = InMemoryAlertStore()
        let engine = try Self.engine(store: store, source: Self.source(from: Self.t0, to: Self.t0 + 60_000, value: 5))
        #expect(await engine.nextDue == 0, "a group never evaluated is due at once")
        var now = Self.t0
        var steps: [Int64] = []
        var sentAt: [Int64] = []
        while now <= Self.t0 + 10_000 {
            steps.append(now)
            if !(try await engine.step(now: now)).isEmpty { sentAt.append(now) }
            let due = try #require(await engine.nextDue)
            #expect(due > now, "a step leaves nothing due at its own time")
            now = due
        }
        #expect(sentAt == [Self.t0 + 5_000])
        // Evaluations every second; the group's first flush (t0+2s firing + 3s wait) coincides with one.
        #expect(steps == stride(from: Self.t0, through: Self.t0 + 10_000, by: 1_000).map { $0 })
    }

    @Test func aFailedCommitKeepsItsNotificationsForTheNext() async throws {
        let store = InMemoryAlertStore()
        let engine = try Self.engine(store: store, source: Self.source(from: Self.t0, to: Self.t0 + 60_000, value: 5))
        for step in 0..<10 { _ = try await engine.step(now: Self.t0 + Int64(step) * 500) }
        store.failNextCommits(1)
        await #expect(throws: (any Error).self) { _ = try await engine.step(now: Self.t0 + 5_000) }
        #expect(store.outbox.isEmpty, "nothing written without the state")
        _ = try await engine.step(now: Self.t0 + 5_500)
        #expect(store.outbox.count == 1, "the notification of the failed step is written with the next commit")
    }

    @Test func resolvedIsSentPromptly() async throws {
        let store = InMemoryAlertStore()
        // Above the threshold for 10 s, then below.
        var source = Self.source(from: Self.t0, to: Self.t0 + 10_000, value: 5)
        for t in stride(from: Self.t0 + 10_500, through: Self.t0 + 60_000, by: 500) {
            source.add(["__name__": "x", "job": "a"], value: 0, at: t)
        }
        let engine = try Self.engine(store: store, source: source)
        for step in 0...40 { _ = try await engine.step(now: Self.t0 + Int64(step) * 500) }
        let statuses = store.outbox.map(\.message.status)
        #expect(statuses == ["firing", "resolved"])
        let resolvedAt = store.outbox.last!.createdAtMs
        #expect(resolvedAt - (Self.t0 + 10_500) <= 5_000 + 1_000, "within group_interval of the resolution")
    }
}
