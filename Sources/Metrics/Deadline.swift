import Synchronization

/// Runs work that must answer within a time limit, whatever it waits on.
public enum Deadline {
    /// Runs `body`, cancelling it once `timeout` passes and then throwing `expired()`; the caller gets its answer
    /// at the deadline even when the work is slow to notice the cancellation (a blocked driver call).
    public static func run<T: Sendable>(
        _ timeout: Duration, expired: @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let waiter = Mutex<CheckedContinuation<Void, Never>?>(nil)
        /// Records the first outcome and wakes the caller; later ones are dropped.
        let settle: @Sendable (Result<T, any Error>) -> Void = { result in
            let first = outcome.withLock { current in
                guard current == nil else { return false }
                current = result
                return true
            }
            guard first else { return }
            waiter.withLock { $0.take() }?.resume()
        }
        let work = Task {
            do { settle(.success(try await body())) } catch { settle(.failure(error)) }
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            settle(.failure(expired()))
            work.cancel()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let done = outcome.withLock { $0 != nil }
                if done { continuation.resume() } else { waiter.withLock { $0 = continuation } }
                // An outcome that arrived between the check and the store above wakes nobody: check again.
                if !done, outcome.withLock({ $0 != nil }) { waiter.withLock { $0.take() }?.resume() }
            }
        } onCancel: {
            settle(.failure(CancellationError()))
            work.cancel()
        }
        timer.cancel()
        return try outcome.withLock { $0! }.get()
    }
}
