import OpsightMetrics
import ServiceLifecycle

/// Runs an ``OpsightMetrics/OpsightEmitter`` as a lifecycle `Service`: graceful shutdown delivers what is buffered.
///
/// Register it before the services that emit, so it stops after them.
public struct EmitterService: Service {
    /// The emitter run.
    public let emitter: OpsightEmitter

    /// Wraps `emitter`.
    public init(emitter: OpsightEmitter) {
        self.emitter = emitter
    }

    /// Delivers until graceful shutdown, then flushes and returns.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await emitter.run()
        } onGracefulShutdown: {
            emitter.shutdown()
        }
    }
}
