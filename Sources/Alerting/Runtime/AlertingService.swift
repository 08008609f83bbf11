import Logging
import ServiceLifecycle

/// Steps the alerting engine while this process holds the lease.
public struct AlertingService: Service {
    private let engine: AlertingEngine
    private let lease: LeaseKeeper
    private let tick: Duration
    private let now: @Sendable () -> Int64
    private let logger: Logger
    private let onStep: @Sendable (AlertingEngine.Stats) -> Void

    /// Creates the service; `tick` is how often due groups and dispatcher timers are checked; `onStep` hears
    /// the engine's counters after each step (for `/metrics`).
    public init(
        engine: AlertingEngine, lease: LeaseKeeper, tick: Duration = .milliseconds(500),
        now: @escaping @Sendable () -> Int64, logger: Logger,
        onStep: @escaping @Sendable (AlertingEngine.Stats) -> Void = { _ in }
    ) {
        self.onStep = onStep
        self.engine = engine
        self.lease = lease
        self.tick = tick
        self.now = now
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if lease.isLeader {
                    do {
                        try await engine.step(now: now())
                        onStep(await engine.stats)
                    } catch {
                        logger.warning("alerting step failed; retried next tick", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: tick)
            }
        }
    }
}
