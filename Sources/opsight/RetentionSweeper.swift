import Foundation
import Logging
import ServiceLifecycle
import Collector
import Storage

/// Runs the retention sweep (`retention:` in the configuration) at start and then every `every`: PostgreSQL's
/// partitions ahead, downsampling, drops and batched deletes, and this collector's quarantine files.
///
/// Every collector sweeps; partition drops and deletes are idempotent, downsampling takes a lock, so several at
/// once only share the work.
struct RetentionSweeper: Service {
    let retention: PostgresRetention
    let quarantine: Quarantine
    let every: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
                let parts = quarantine.ageOut(nowMs: nowMs)
                if parts > 0 { logger.info("deleted old quarantine files", metadata: ["files": "\(parts)"]) }
                do {
                    let deleted = try await retention.sweep(nowMs: nowMs)
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
