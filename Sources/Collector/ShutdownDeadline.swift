import Logging
import ServiceLifecycle
import Synchronization

/// Bounds how long a graceful shutdown of a process may take.
///
/// Last in a `ServiceGroup` (the group tells its services to stop in reverse order, so this one first), it starts a
/// clock when the shutdown begins and returns at once. If the process is still running `limit` later and the caller
/// has not ``disarm()``ed it (after the group's `run()` returned), it logs an error and calls `expire`, which ends the
/// process.
///
/// A stop of `opsight serve` was once seen never to end: every service had closed its connections and files, and the
/// top-level group's `run()` never returned (docs/benchmarks.md, twenty-ninth session). By then nothing is left to
/// lose — acknowledged events are in the write-ahead log, which the next start replays — so the process ends rather
/// than wait for an orchestrator to kill it.
public final class ShutdownDeadline: Service, Sendable {
    private let limit: Duration
    private let logger: Logger
    private let expire: @Sendable () -> Void
    private let sleep: @Sendable (Duration) async -> Void
    private let disarmed = Atomic<Bool>(false)

    /// A deadline of `limit` after the shutdown begins; `expire` ends the process. Tests observe `expire` and pass a
    /// `sleep` they end themselves, so that a busy machine cannot decide the outcome.
    public init(
        limit: Duration, logger: Logger,
        sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) },
        expire: @escaping @Sendable () -> Void
    ) {
        self.limit = limit
        self.logger = logger
        self.sleep = sleep
        self.expire = expire
    }

    /// The shutdown finished: the deadline will not expire.
    public func disarm() {
        disarmed.store(true, ordering: .releasing)
    }

    /// Waits for the group's graceful shutdown (or cancellation), starts the clock and returns.
    public func run() async throws {
        try? await gracefulShutdown()
        Task.detached { [self] in
            await sleep(limit)
            guard !disarmed.load(ordering: .acquiring) else { return }
            logger.error(
                """
                the shutdown did not finish in time; exiting without it \
                (the write-ahead log keeps what the stores had not taken)
                """,
                metadata: ["limit": "\(limit)"])
            expire()
        }
    }
}
