import PostgresNIO
import OpsightMetrics

/// Runs `body`, wrapping driver errors at the storage boundary as `StorageError(.postgres)`.
func withPostgresErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as StorageError {
        throw error
    } catch let error as PSQLError {
        throw StorageError(.postgres, "PostgreSQL: \(String(reflecting: error))", underlying: error)
    } catch {
        throw StorageError(.postgres, "PostgreSQL: \(error)", underlying: error)
    }
}

/// How long an API read waits for PostgreSQL before it answers that the store is unavailable.
let postgresReadTimeout: Duration = .seconds(8)

/// Runs a read that must answer within `postgresReadTimeout`: while PostgreSQL is away its connection pool holds
/// requests until its circuit breaker trips (15 s), and a reader deserves a 503 before its own client gives up.
/// Writes are not bounded this way: a large catch-up commit may rightly take longer.
func withPostgresRead<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Deadline.run(
        postgresReadTimeout,
        expired: { StorageError(.postgres, "PostgreSQL did not answer within \(postgresReadTimeout)") }
    ) { try await withPostgresErrors(body) }
}
