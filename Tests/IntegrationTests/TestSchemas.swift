import Foundation
import Logging
import PostgresNIO
import PostgresURL
import Storage

/// Runs `body` with a client of the test database (`OPSIGHT_TEST_DATABASE_URL`) and `count` fresh schemas named
/// `prefix` and a random suffix, migrated; the schemas are dropped afterwards, whether `body` throws or not.
func withMigratedSchemas(
    _ prefix: String, count: Int = 1, _ body: (PostgresClient, [String]) async throws -> Void
) async throws {
    let logger = Logger(label: "test")
    let url = try PostgresURL(ProcessInfo.processInfo.environment["OPSIGHT_TEST_DATABASE_URL"]!)
    let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let schemas = (0..<count).map { count == 1 ? "\(prefix)_\(suffix)" : "\(prefix)_\($0)_\(suffix)" }
        var failure: (any Error)?
        do {
            for schema in schemas { try await Migrations.migrate(client: client, schema: schema, logger: logger) }
            try await body(client, schemas)
        } catch {
            failure = error
        }
        for schema in schemas { _ = try? await client.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE") }
        group.cancelAll()
        if let failure { throw failure }
    }
}

/// Deletes every key of `prefix`, as a Redis restarted without persistence (other tests' keys stay).
func wipeRedisKeys(_ redis: RedisClient, prefix: String) async throws {
    let keys = try await redis.command("KEYS", .string("\(prefix):*"))
    let names = (keys.array ?? []).compactMap(\.string)
    if !names.isEmpty { _ = try await redis.command([.string("DEL")] + names.map { .string($0) }) }
}
