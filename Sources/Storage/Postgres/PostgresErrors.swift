import PostgresNIO

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
