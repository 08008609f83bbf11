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
    private let onOutbox: @Sendable () -> Void

    /// Creates the service. It steps when the engine's next evaluation or group flush is due, and at least every
    /// `tick` (for a lease gained or a reload meanwhile); `onStep` hears the engine's counters after each step (for
    /// `/metrics`); `onOutbox` hears that a step wrote notifications (to wake the delivery worker).
    public init(
        engine: AlertingEngine, lease: LeaseKeeper, tick: Duration = .milliseconds(500),
        now: @escaping @Sendable () -> Int64, logger: Logger,
        onStep: @escaping @Sendable (AlertingEngine.Stats) -> Void = { _ in },
        onOutbox: @escaping @Sendable () -> Void = {}
    ) {
        self.onStep = onStep
        self.onOutbox = onOutbox
        self.engine = engine
        self.lease = lease
        self.tick = tick
        self.now = now
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var wait = tick
                if lease.isLeader {
                    do {
                        let written = try await engine.step(now: now())
                        if !written.isEmpty { onOutbox() }
                        onStep(await engine.stats)
                        if let due = await engine.nextDue {
                            // A timer's lateness adds to every alert's latency (evaluation, `for`, `group_wait`).
                            wait = min(tick, .milliseconds(max(5, due - now())))
                        }
                    } catch {
                        logger.warning("alerting step failed; retried next tick", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: wait)
            }
        }
    }
}
