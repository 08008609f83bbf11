import Synchronization

/// A one-waiter latch: `signal()` wakes the waiter, or the next `wait()` if nobody waits yet.
///
/// The emitter's run loop waits on it for "the buffer has work"; producers signal only when the buffer
/// turns non-empty or reaches a batch, so the common emit call never touches it. Alerting's delivery worker
/// waits on one for "the outbox has new notifications".
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Creates an unsignalled latch.
    public init() {}

    /// Wakes the waiter, or lets the next `wait()` return at once.
    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Whether a signal waits for the next `wait()` (for tests and diagnostics).
    public var isPending: Bool { state.withLock { $0.pending } }

    /// Returns when signalled (consuming the signal) or when the task is cancelled.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    // Checked under the lock: a cancellation handler that ran before this point found no waiter. A
                    // cancelled wait leaves a pending signal alone: it is the losing branch of a race (the emitter
                    // waits on this and a clock together), and the signal is for the next wait.
                    if Task.isCancelled { return true }
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

extension WakeSignal {
    /// Returns when signalled (consuming the signal), when `sleep(timeout)` returns, or when the task is cancelled.
    public func wait(
        orSleep timeout: Duration,
        _ sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await sleep(timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
