import Synchronization

/// The monotonic counters of an ``OpsightEmitter``, on atomics so producers and the run loop never lock for them.
final class EmitterCounters: Sendable {
    /// Events dropped from a full buffer or after shutdown.
    let dropped = Atomic<Int>(0)
    /// Events the collector accepted.
    let accepted = Atomic<Int>(0)
    /// Events the collector rejected line by line.
    let rejected = Atomic<Int>(0)
    /// Events of batches given up.
    let failed = Atomic<Int>(0)
    /// Events that were truncated to fit the line limit.
    let truncated = Atomic<Int>(0)
    /// Retried delivery attempts.
    let retries = Atomic<Int>(0)
    /// The reason of the last failed attempt (rarely written, so a lock is fine).
    let lastError = Mutex<String?>(nil)

    /// Creates zeroed counters.
    init() {}

    /// Adds `n` to `counter`.
    @inline(__always)
    static func add(_ counter: borrowing Atomic<Int>, _ n: Int) {
        counter.wrappingAdd(n, ordering: .relaxed)
    }
}
