import PostgresNIO
import OpsightMetrics

/// Runs `body`, wrapping driver errors at the storage boundary as `StorageError(.postgres)`, or
/// `StorageError(.refusedData)` when the server refused the data itself (``refusesData(_:)``).
func withPostgresErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as StorageError {
        throw error
    } catch let error as PostgresTransactionError where error.closureError is StorageError {
        // A refusal decided inside the transaction (a fenced write) stays what it is.
        throw error.closureError as! StorageError
    } catch let error as PostgresTransactionError {
        // A statement inside the transaction decides: it is what the server refused (or failed on).
        let cause = error.closureError ?? error.commitError ?? error.beginError
        let refused = (cause as? PSQLError).map(refusesData) ?? false
        throw StorageError(
            refused ? .refusedData : .postgres, "PostgreSQL: \(String(reflecting: cause ?? error))", underlying: error)
    } catch let error as PSQLError {
        let code: StorageError.Code = refusesData(error) ? .refusedData : .postgres
        throw StorageError(code, "PostgreSQL: \(String(reflecting: error))", underlying: error)
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
        expired: {
            StorageError(
                .postgres,
                "PostgreSQL did not answer within \(postgresReadTimeout): it is down or busy, or this read is too large "
                    + "for it (a window that is not one of the configured `windows` is summed from every minute of it "
                    + "in PostgreSQL; at many series ask for a configured window or one service)")
        }
    ) { try await withPostgresErrors(body) }
}

/// Whether PostgreSQL refused a statement for the values it carried, so the same values will be refused again.
///
/// SQLSTATE classes: 22 data exception (NUL or an invalid escape in `text` or `jsonb`, a value out of range),
/// 23 integrity constraint violation, 54 program limit exceeded (an index row over its size limit). Everything
/// else (connection, resources, shutdown, serialization) may pass on a retry.
func refusesData(_ error: PSQLError) -> Bool {
    guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return false }
    return state.hasPrefix("22") || state.hasPrefix("23") || state.hasPrefix("54")
}
