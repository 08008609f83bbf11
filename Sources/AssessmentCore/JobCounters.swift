import Synchronization

/// The service's own count of job lifecycle events, beside what it emits (for checking Opsight's figures).
public final class JobCounters: Sendable {
    private let enqueued = Atomic<Int>(0)
    private let started = Atomic<Int>(0)
    private let succeeded = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let retried = Atomic<Int>(0)

    /// Creates zeroed counters.
    public init() {}

    /// Counts one event.
    public func count(_ event: JobCounterEvent) {
        switch event {
        case .enqueued: enqueued.add(1, ordering: .relaxed)
        case .started: started.add(1, ordering: .relaxed)
        case .succeeded: succeeded.add(1, ordering: .relaxed)
        case .failed: failed.add(1, ordering: .relaxed)
        case .retried: retried.add(1, ordering: .relaxed)
        }
    }

    /// The counts now.
    public var snapshot: JobCountsSnapshot {
        JobCountsSnapshot(
            enqueued: enqueued.load(ordering: .relaxed),
            started: started.load(ordering: .relaxed),
            succeeded: succeeded.load(ordering: .relaxed),
            failed: failed.load(ordering: .relaxed),
            retried: retried.load(ordering: .relaxed)
        )
    }
}

/// A job lifecycle step counted by ``JobCounters``.
public enum JobCounterEvent: Sendable {
    case enqueued, started, succeeded, failed, retried
}

/// Job counts at one moment, as served by `GET /admin/stats`.
public struct JobCountsSnapshot: Codable, Sendable, Equatable {
    /// Jobs put on the queue, retries included.
    public var enqueued: Int
    /// Attempts begun.
    public var started: Int
    /// Attempts that succeeded.
    public var succeeded: Int
    /// Attempts that failed (retried or not).
    public var failed: Int
    /// Failed attempts put back on the queue.
    public var retried: Int

    /// Creates a snapshot.
    public init(enqueued: Int, started: Int, succeeded: Int, failed: Int, retried: Int) {
        self.enqueued = enqueued
        self.started = started
        self.succeeded = succeeded
        self.failed = failed
        self.retried = retried
    }
}
