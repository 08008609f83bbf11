import Synchronization

/// One read at a time of a current value, shared by the callers waiting for it: each caller gets the result of a
/// run that started after it called, as if it had run the read itself, but concurrent callers share one run.
///
/// As ``SingleFlightPolling`` does for the window caches' polls; here for the `/metrics` counters, which read the
/// stores' running totals of 10 000 series (tens of milliseconds) and render them on every scrape.
final class JoinedReads<Value: Sendable>: Sendable {
    private struct State {
        var running: (generation: Int, task: Task<Result<Value, any Error>, Never>)?
        var started = 0
    }

    private let state = Mutex(State())

    /// An idle reader.
    init() {}

    /// The value of a run of `read` that started after this call.
    func read(_ read: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let needed = state.withLock { $0.started + 1 }
        while true {
            let (generation, task) = state.withLock { state in
                if let running = state.running { return running }
                state.started += 1
                let run = (
                    state.started,
                    Task { () async -> Result<Value, any Error> in
                        do { return .success(try await read()) } catch { return .failure(error) }
                    }
                )
                state.running = run
                return run
            }
            let result = await task.value
            state.withLock { state in
                if state.running?.generation == generation { state.running = nil }
            }
            if generation >= needed { return try result.get() }
        }
    }
}
