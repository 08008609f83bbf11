import PostgresURL
import Collector
import Foundation
import OpsightMetrics
import Logging
import PostgresNIO
@testable import Storage
import Synchronization
import Testing

private let env = ProcessInfo.processInfo.environment

/// The durable store's position only moves forward, in the transaction of the delta: a commit retried after its
/// answer was lost (or while its first attempt's COMMIT was still in flight) adds nothing the second time.
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct PostgresCommitOnceTests {
    let logger = Logger(label: "test")

    @Test func aRetriedOrStaleCommitAddsNothing() async throws {
        try await withMigratedSchemas("test_once") { client, schemas in
            let store = PostgresDurableStore(client: client, configuration: .init(schema: schemas[0]), logger: logger)
            let minute: Int64 = 30_000_000
            func delta(_ n: Int) -> Delta {
                var stats = RequestStats()
                for _ in 0..<n { stats.record(status: 200, durationMs: 1, isError: false) }
                var d = Delta()
                d.requests[Bucketed(RequestKey(service: "s", route: "/r", method: "GET"), bucket: minute)] = stats
                return d
            }
            func count() async throws -> UInt64 {
                try await store.read(service: "s", buckets: minute...minute).requests.values.reduce(0) {
                    $0 + $1.count
                }
            }
            try await store.commit(delta(3), position: 10, collector: "c")
            // The same delta again, as a retry whose first attempt landed: nothing is added, no error.
            try await store.commit(delta(3), position: 10, collector: "c")
            #expect(try await count() == 3)
            // A stale commit behind the recorded position neither adds nor moves the position back.
            try await store.commit(delta(5), position: 7, collector: "c")
            #expect(try await count() == 3)
            #expect(try await store.committedPosition(collector: "c") == 10)
            // Concurrent commits of one position: exactly one applies.
            try await withThrowingTaskGroup(of: Void.self) { commits in
                for _ in 0..<4 {
                    commits.addTask { try await store.commit(delta(2), position: 20, collector: "c") }
                }
                try await commits.waitForAll()
            }
            #expect(try await count() == 5)
            #expect(try await store.committedPosition(collector: "c") == 20)
        }
    }

    /// The job-fact pairing lock is the schema's own: while a transaction holds schema A's, a commit carrying job facts
    /// into schema B goes through, and one into schema A waits for it. Keyed by the database alone, every deployment
    /// (and every test) sharing a database waited for every other's commits.
    @Test func aSchemasPairingLockDoesNotHoldUpAnotherSchema() async throws {
        try await withMigratedSchemas("test_lock", count: 2) { client, schemas in
            let (a, b) = (schemas[0], schemas[1])
            let storeA = PostgresDurableStore(client: client, configuration: .init(schema: a), logger: logger)
            let storeB = PostgresDurableStore(client: client, configuration: .init(schema: b), logger: logger)
            func facts(_ id: String) -> Delta {
                let events = [JobEventType.enqueued, .started].enumerated().map { i, type in
                    var e = Event(timestampMs: 1_795_000_000_000 + Int64(i) * 1_000, service: "s", kind: .job)
                    (e.queue, e.job, e.jobID, e.jobEvent) = ("q", "j", id, type)
                    return e
                }
                return BatchAggregate(events: events, rules: .init()).durable
            }
            try #require(!facts("x").jobFacts.isEmpty)
            let (held, holding) = AsyncStream<Void>.makeStream()
            let (release, releasing) = AsyncStream<Void>.makeStream()
            let lock = PostgresDurableStore.pairingLock
            let holder = Task {
                try await client.withTransaction(logger: logger) { conn in
                    try await conn.query("SELECT pg_advisory_xact_lock(\(lock), hashtext(\(a)))", logger: logger)
                    holding.yield()
                    for await _ in release { break }
                }
            }
            for await _ in held { break }
            let other = Task { try await storeB.commit(facts("b1"), position: 1, collector: "c") }
            let same = Task { try await storeA.commit(facts("a1"), position: 1, collector: "c") }
            // Schema B's commit lands while A's lock is held; A's does not.
            let deadline = ContinuousClock.now + .seconds(10)
            while try await storeB.committedPosition(collector: "c") < 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try await storeB.committedPosition(collector: "c") == 1, "schema B waited for A's lock")
            #expect(try await storeA.committedPosition(collector: "c") == 0, "schema A did not wait for its lock")
            releasing.yield()
            try await holder.value
            try await other.value
            try await same.value
            #expect(try await storeA.committedPosition(collector: "c") == 1)
        }
    }

    /// Several collectors starting together on a new schema (the scale-out setup of issue 16) all get it migrated:
    /// concurrent `CREATE SCHEMA IF NOT EXISTS` of one name can fail on PostgreSQL's unique index, so creating the
    /// schema is serialized with the migrations.
    @Test func collectorsMigratingOneNewSchemaTogetherAllSucceed() async throws {
        let client = PostgresClient(
            configuration: try PostgresURL(env["OPSIGHT_TEST_DATABASE_URL"]!).clientConfiguration,
            backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            var failure: (any Error)?
            for round in 0..<5 {
                let schema = "test_together_\(round)_\(UUID().uuidString.prefix(8).lowercased())"
                do {
                    let applied = try await withThrowingTaskGroup(of: [Int].self) { migrations in
                        for _ in 0..<6 {
                            migrations.addTask {
                                try await Migrations.migrate(client: client, schema: schema, logger: logger)
                            }
                        }
                        return try await migrations.reduce(into: []) { $0 += $1 }
                    }
                    #expect(applied.sorted() == Array(1...Migrations.latestVersion), "each migration applied once")
                } catch {
                    failure = failure ?? error
                }
                _ = try? await client.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE")
            }
            group.cancelAll()
            if let failure { throw MigrationFailure(description: String(reflecting: failure)) }
        }
    }

    /// The server's message, which `PSQLError` hides from `description`.
    struct MigrationFailure: Error, CustomStringConvertible {
        let description: String
    }
}
