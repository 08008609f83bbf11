import Foundation
import Logging
import ServiceLifecycle
import Storage

/// Runs the PostgreSQL retention sweep (`retention:` in the configuration) at start and then every `every`.
///
/// Every collector sweeps; the deletes are idempotent and batched, so several at once only share the work.
struct RetentionSweeper: Service {
    let retention: PostgresRetention
    let every: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let deleted = try await retention.sweep(nowMs: Int64(Date().timeIntervalSince1970 * 1000))
                    if deleted.values.contains(where: { $0 > 0 }) {
                        logger.info("retention sweep", metadata: ["deleted": "\(deleted)"])
                    }
                } catch {
                    logger.warning("retention sweep failed; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: every)
            }
        }
    }
}
