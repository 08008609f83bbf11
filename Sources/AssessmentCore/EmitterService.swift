import OpsightMetrics
import ServiceLifecycle

/// Runs an ``OpsightMetrics/OpsightEmitter`` as a lifecycle `Service`: graceful shutdown delivers what is buffered.
///
/// Register it before the services that emit, so it stops after them. Delivery after shutdown is bounded by
/// `shutdownDeadline`: a collector that is away makes each remaining batch's attempt last the transport's whole
/// timeout, so past the deadline the emitter is cancelled and what is left is dropped.
public struct EmitterService: Service {
    /// The emitter run.
    public let emitter: OpsightEmitter
    /// Longest delivery may continue after graceful shutdown begins.
    public let shutdownDeadline: Duration

    /// Wraps `emitter`; `shutdownDeadline` defaults to the emitter's grace period plus 2 s.
    public init(emitter: OpsightEmitter, shutdownDeadline: Duration? = nil) {
        self.emitter = emitter
        self.shutdownDeadline = shutdownDeadline ?? emitter.configuration.shutdownGracePeriod + .seconds(2)
    }

    /// Delivers until graceful shutdown, then flushes (bounded) and returns.
    public func run() async throws {
        let emitter = self.emitter
        let deadline = shutdownDeadline
        // Whichever child ends first (the emitter finished, or the deadline after shutdown passed) ends the group;
        // the other is cancelled.
        try? await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                await emitter.run()
                throw CancellationError()
            }
            group.addTask {
                try await gracefulShutdown()
                emitter.shutdown()
                try await Task.sleep(for: deadline)
                throw CancellationError()
            }
        }
    }
}
