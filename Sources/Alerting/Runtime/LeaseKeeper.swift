import Logging
import ServiceLifecycle
import Synchronization

/// Holds the alerting lease in the store, so that of several `opsight serve` on the same stores exactly one
/// evaluates and delivers; another takes over within `ttlMs` of the holder's death.
public final class LeaseKeeper: Service {
    /// Lease timing.
    public struct Configuration: Sendable {
        /// The lease's name in the store.
        public var name = "alerting"
        /// How long a lease lasts without renewal, ms.
        public var ttlMs: Int64 = 6_000
        /// How often the holder renews and a follower tries, ms (well under `ttlMs`).
        public var renewEveryMs: Int64 = 1_500
        /// Creates the defaults.
        public init() {}
    }

    /// This process's identity in the lease table.
    public let holder: String
    private let configuration: Configuration
    private let store: any AlertStore
    private let now: @Sendable () -> Int64
    private let onChange: @Sendable (Bool) async -> Void
    private let logger: Logger
    private let leading = Atomic<Bool>(false)
    /// Until when the lease is surely ours (unix ms): a renewal that could not be confirmed stops leading
    /// before another process may take over.
    private let validUntil = Atomic<Int64>(0)

    /// Creates the keeper; `onChange` hears of gaining (true) and losing (false) the lease.
    public init(
        configuration: Configuration = .init(), holder: String, store: any AlertStore,
        now: @escaping @Sendable () -> Int64, onChange: @escaping @Sendable (Bool) async -> Void = { _ in },
        logger: Logger
    ) {
        self.configuration = configuration
        self.holder = holder
        self.store = store
        self.now = now
        self.onChange = onChange
        self.logger = logger
    }

    /// Whether this process holds the lease now.
    public var isLeader: Bool {
        leading.load(ordering: .acquiring) && now() < validUntil.load(ordering: .acquiring)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.renew()
                try? await Task.sleep(for: .milliseconds(self.configuration.renewEveryMs))
            }
        }
        if leading.load(ordering: .acquiring) {
            try? await store.releaseLease(name: configuration.name, holder: holder)
            logger.info("released the alerting lease", metadata: ["holder": "\(holder)"])
        }
    }

    /// One attempt to take or keep the lease.
    public func renew() async {
        let started = now()
        let held: Bool
        do {
            held = try await store.acquireLease(
                name: configuration.name, holder: holder, ttlMs: configuration.ttlMs, nowMs: started)
        } catch {
            logger.warning("alerting lease store unavailable", metadata: ["error": "\(error)"])
            held = false
        }
        // Valid until a bit before the store's expiry, measured from before the request went out.
        if held { validUntil.store(started + configuration.ttlMs - configuration.renewEveryMs, ordering: .releasing) }
        let was = leading.exchange(held, ordering: .acquiringAndReleasing)
        if was != held {
            logger.notice(held ? "holding the alerting lease" : "lost the alerting lease", metadata: ["holder": "\(holder)"])
            await onChange(held)
        }
    }
}
