import Alerting
import Foundation
import Logging
import PostgresNIO
import PostgresURL
import Storage
import Testing

private let env = ProcessInfo.processInfo.environment

/// Whether `body` fails with a fenced write.
func isFenced(_ body: () async throws -> Void) async -> Bool {
    do {
        try await body()
        return false
    } catch let error as StorageError {
        return error.code == .fenced
    } catch {
        return false
    }
}

/// Two processes' alert stores (`a`, `b`) on the same schema: `a` leads, pauses past its lease, `b` takes over,
/// and `a`'s late writes are refused while `b`'s go through; `a` taking the lease back fences `b` in turn.
func checkLeaseFencing(_ a: PostgresAlertStore, _ b: PostgresAlertStore) async throws {
    #expect(try await a.acquireLease(name: "alerting", holder: "a", ttlMs: 5_000, nowMs: 0))
    let first = try #require(a.fencingToken)
    try await a.commit(state: ["rules": [1]], history: [], outbox: [message(1)], nowMs: 0)
    // A renewal keeps the token.
    #expect(try await a.acquireLease(name: "alerting", holder: "a", ttlMs: 5_000, nowMs: 3_000))
    #expect(a.fencingToken == first)
    #expect(try await !b.acquireLease(name: "alerting", holder: "b", ttlMs: 5_000, nowMs: 7_000))
    // `a` stalls (its clock says it still leads); its lease runs out and `b` takes over with a newer token.
    #expect(try await b.acquireLease(name: "alerting", holder: "b", ttlMs: 5_000, nowMs: 8_001))
    let second = try #require(b.fencingToken)
    #expect(second > first)

    // `a` wakes and writes what it computed before the stall: refused, nothing of it lands.
    let late = AlertHistoryEntry(atMs: 8_500, alertname: "A", labels: [:], state: "firing", value: 1)
    #expect(
        await isFenced {
            try await a.commit(state: ["rules": [9]], history: [late], outbox: [message(2)], nowMs: 8_500)
        })
    #expect(await isFenced { _ = try await a.claimDue(limit: 10, nowMs: 8_500, claimMs: 30_000) })
    #expect(try await b.loadState() == ["rules": [1]])
    #expect(try await b.history(limit: 10).isEmpty)
    #expect(try await b.notifications(limit: 10).map(\.message.alerts) == [1])

    // The new holder writes and claims; the old one's retry or failure marks change nothing.
    try await b.commit(state: ["rules": [2]], history: [], outbox: [message(3)], nowMs: 9_000)
    let claimed = try await b.claimDue(limit: 10, nowMs: 9_000, claimMs: 30_000)
    #expect(Set(claimed.map(\.message.alerts)) == [1, 3])
    try await a.markFailed(id: claimed[0].message.id, status: 400, error: "late", atMs: 9_100)
    try await a.markRetry(id: claimed[1].message.id, status: 503, error: "late", nextAttemptAtMs: 1)
    let records = try await b.notifications(limit: 10)
    #expect(records.allSatisfy { $0.state == .pending && $0.lastError == nil && $0.nextAttemptAtMs == 39_000 })

    // `a` takes the lease back once `b`'s runs out: a newer token again, and now `b` is the one fenced.
    #expect(try await a.acquireLease(name: "alerting", holder: "a", ttlMs: 5_000, nowMs: 20_000))
    #expect(try #require(a.fencingToken) > second)
    #expect(await isFenced { try await b.commit(state: ["rules": [3]], history: [], outbox: [], nowMs: 20_001) })
    try await a.commit(state: ["rules": [4]], history: [], outbox: [], nowMs: 20_002)
    #expect(try await b.loadState() == ["rules": [4]])
    // A released lease fences its last holder too (the row is gone); the next holder gets a newer token.
    try await a.releaseLease(name: "alerting", holder: "a")
    #expect(await isFenced { try await a.commit(state: ["rules": [5]], history: [], outbox: [], nowMs: 20_003) })
}

/// The alerting lease carries a fencing token (issue 14): a paused ex-leader's late writes are refused.
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct LeaseFencingTests {
    @Test func aPausedExLeadersLateWritesAreRefused() async throws {
        try await withMigratedSchema(prefix: "test_fence") { client, schema in
            let logger = Logger(label: "test")
            try await checkLeaseFencing(
                PostgresAlertStore(client: client, schema: schema, logger: logger),
                PostgresAlertStore(client: client, schema: schema, logger: logger))
        }
    }
}
