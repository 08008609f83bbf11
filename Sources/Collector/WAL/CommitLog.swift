import Dispatch
import Foundation
import ServiceLifecycle
import Synchronization

/// Group commit: one thread writes queued batches to the write-ahead log, fsyncs once for all of them,
/// applies them to the aggregator in log order, and only then resumes their requests.
///
/// A dedicated thread rather than a task: `write` and `fdatasync` block, and they must not hold an
/// event-loop or cooperative-pool thread while other requests queue up behind them.
public final class CommitLog: Sendable {
    private struct Pending {
        var payload: [UInt8]
        var aggregate: BatchAggregate?
        var continuation: CheckedContinuation<UInt64, any Error>
    }

    private struct Queue {
        var pending: [Pending] = []
        var bytes = 0
        var closed = false
        var started = false
    }

    /// The log written to.
    public let wal: WriteAheadLog
    /// Where committed batches go.
    public let aggregator: Aggregator
    private let maxQueuedBytes: Int
    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    /// Creates the committer; call `start()` before `commit`.
    public init(wal: WriteAheadLog, aggregator: Aggregator, maxQueuedBytes: Int = 64 << 20) {
        self.wal = wal
        self.aggregator = aggregator
        self.maxQueuedBytes = maxQueuedBytes
    }

    /// Starts the commit thread.
    public func start() {
        let first = queue.withLock { q in
            defer { q.started = true }
            return !q.started
        }
        guard first else { return }
        let thread = Thread { [self] in self.loop() }
        thread.name = "opsight-wal-commit"
        thread.start()
    }

    /// Durably logs and applies one batch; returns the end position of its record. Without its aggregate (nil) the
    /// record is left in the log for the stores (``Aggregator/apply(_:position:targets:)``).
    ///
    /// Throws `overloaded` without queuing anything when more than `maxQueuedBytes` already wait.
    public func commit(payload: [UInt8], aggregate: BatchAggregate?) async throws -> UInt64 {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<UInt64, any Error>) in
            let refusal: CollectorError? = queue.withLock { q in
                if q.closed { return CollectorError(.shutdown, "the collector is shutting down") }
                if q.bytes > 0 && q.bytes + payload.count > maxQueuedBytes {
                    return CollectorError(.overloaded, "too much data waiting for the write-ahead log")
                }
                q.pending.append(Pending(payload: payload, aggregate: aggregate, continuation: c))
                q.bytes += payload.count
                return nil
            }
            if let refusal { c.resume(throwing: refusal) } else { wakeup.signal() }
        }
    }

    /// Finishes queued batches, then stops the thread.
    public func shutdown() {
        let running = queue.withLock { q in
            defer { q.closed = true }
            return q.started && !q.closed
        }
        guard running else { return }
        wakeup.signal()
        stopped.wait()
        // Nothing appends any more: release the log directory, as a process exit would.
        wal.close()
    }

    private func loop() {
        while true {
            wakeup.wait()
            let (batch, closed) = queue.withLock { q in
                defer {
                    q.pending = []
                    q.bytes = 0
                }
                return (q.pending, q.closed)
            }
            if !batch.isEmpty { write(batch) }
            if closed && queue.withLock({ $0.pending.isEmpty }) {
                stopped.signal()
                return
            }
        }
    }

    private func write(_ batch: [Pending]) {
        do {
            let ends = try wal.append(batch.map(\.payload))
            try wal.sync()
            for (p, end) in zip(batch, ends) {
                aggregator.apply(p.aggregate, position: end)
            }
            for (p, end) in zip(batch, ends) { p.continuation.resume(returning: end) }
        } catch {
            for p in batch { p.continuation.resume(throwing: error) }
        }
    }
}

extension CommitLog: Service {
    /// Runs until graceful shutdown, then finishes the queued batches and stops the thread.
    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
    }
}
