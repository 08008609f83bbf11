import PostgresURL
import Alerting
import Foundation
import Logging
import PostgresNIO
import Storage
import Testing

private let env = ProcessInfo.processInfo.environment

/// Runs `body` with a `PostgresAlertStore` in a fresh schema, dropped afterwards.
func withAlertStore(_ body: (PostgresAlertStore) async throws -> Void) async throws {
    try await withMigratedSchemas("test_alert") { client, schemas in
        try await body(PostgresAlertStore(client: client, schema: schemas[0], logger: Logger(label: "test")))
    }
}

func message(_ n: Int, receiver: String = "hook", url: String = "http://127.0.0.1:1/x") -> OutboxMessage {
    OutboxMessage(
        id: UUID(), receiver: receiver, integration: "webhook", groupKey: "{}:{alertname=\"A\"}", status: "firing",
        alerts: n, url: url, headers: ["Content-Type": "application/json"], body: Array("{\"n\":\(n)}".utf8))
}

@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct PostgresAlertStoreTests {
    @Test func stateHistoryAndOutboxCommitTogetherAndReadBack() async throws {
        try await withAlertStore { store in
            let m = [message(1), message(2)]
            let h = AlertHistoryEntry(atMs: 1_000, alertname: "A", labels: ["alertname": "A", "x": "y"], state: "firing", value: 0.5)
            try await store.commit(state: ["rules": [1, 2, 3], "dispatch": [4]], history: [h], outbox: m, nowMs: 1_000)
            // Offering the same messages again (a retried commit) adds nothing.
            try await store.commit(state: ["rules": [9]], history: [], outbox: [m[0]], nowMs: 2_000)
            #expect(try await store.loadState() == ["rules": [9], "dispatch": [4]])
            #expect(try await store.history(limit: 10) == [h])
            let listed = try await store.notifications(limit: 10)
            #expect(Set(listed.map(\.message)) == Set(m))
            #expect(listed.allSatisfy { $0.state == .pending && $0.attempts == 0 })
        }
    }

    @Test func claimsAreExclusiveUntilTheyExpireAndOutcomesAreRecorded() async throws {
        try await withAlertStore { store in
            let m = (1...3).map { message($0) }
            try await store.commit(state: [:], history: [], outbox: m, nowMs: 1_000)
            let first = try await store.claimDue(limit: 2, nowMs: 1_000, claimMs: 30_000)
            let second = try await store.claimDue(limit: 10, nowMs: 1_000, claimMs: 30_000)
            #expect(first.count == 2 && second.count == 1)
            #expect(Set((first + second).map(\.message.id)) == Set(m.map(\.id)))
            #expect((first + second).allSatisfy { $0.attempts == 1 })
            #expect(try await store.claimDue(limit: 10, nowMs: 30_999, claimMs: 30_000).isEmpty)
            try await store.markDelivered(id: first[0].message.id, status: 200, atMs: 2_000)
            try await store.markRetry(id: first[1].message.id, status: 503, error: "HTTP 503", nextAttemptAtMs: 5_000)
            try await store.markFailed(id: second[0].message.id, status: 400, error: "HTTP 400", atMs: 2_000)
            let again = try await store.claimDue(limit: 10, nowMs: 5_000, claimMs: 30_000)
            #expect(again.map(\.message.id) == [first[1].message.id])
            #expect(again.first?.attempts == 2 && again.first?.lastStatus == 503)
            // A delivered or failed message is never claimed again, even after a claim would have expired.
            #expect(try await store.claimDue(limit: 10, nowMs: 100_000, claimMs: 30_000).map(\.message.id) == [first[1].message.id])
            let byID = Dictionary(uniqueKeysWithValues: try await store.notifications(limit: 10).map { ($0.message.id, $0) })
            #expect(byID[first[0].message.id]?.state == .delivered)
            #expect(byID[second[0].message.id]?.state == .failed)
            #expect(byID[second[0].message.id]?.lastError == "HTTP 400")
        }
    }

    @Test func oneLeaseHolderAtATimeAndTakeoverAfterExpiry() async throws {
        try await withAlertStore { store in
            #expect(try await store.acquireLease(name: "alerting", holder: "a", ttlMs: 5_000, nowMs: 0))
            #expect(try await !store.acquireLease(name: "alerting", holder: "b", ttlMs: 5_000, nowMs: 1_000))
            #expect(try await store.acquireLease(name: "alerting", holder: "a", ttlMs: 5_000, nowMs: 4_000))
            #expect(try await !store.acquireLease(name: "alerting", holder: "b", ttlMs: 5_000, nowMs: 8_999))
            #expect(try await store.acquireLease(name: "alerting", holder: "b", ttlMs: 5_000, nowMs: 9_001))
            #expect(try await !store.acquireLease(name: "alerting", holder: "a", ttlMs: 5_000, nowMs: 9_002))
            try await store.releaseLease(name: "alerting", holder: "b")
            #expect(try await store.acquireLease(name: "alerting", holder: "a", ttlMs: 5_000, nowMs: 9_003))
        }
    }

    @Test func silencesAreKeptUntilLongAfterTheyEnd() async throws {
        try await withAlertStore { store in
            let a = UUID()
            let b = UUID()
            try await store.saveSilence(id: a, encoded: [1], endsAtMs: 10_000, nowMs: 0)
            try await store.saveSilence(id: b, encoded: [2], endsAtMs: 50_000, nowMs: 0)
            try await store.saveSilence(id: a, encoded: [3], endsAtMs: 20_000, nowMs: 1)
            #expect(try await store.silences(endedAfterMs: 0).sorted { $0[0] < $1[0] } == [[2], [3]])
            #expect(try await store.silences(endedAfterMs: 30_000) == [[2]])
        }
    }
}
