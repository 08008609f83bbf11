/// A cache that follows a store's log by polls, one at a time, where a read must see every commit made before it:
/// ``WindowCache`` (the change feed) and ``FunnelCache`` (the funnel step log).
protocol SingleFlightPolling: Actor {
    /// The polls started and finished, and the one under way.
    var polls: SingleFlightPolls { get set }
    /// One poll of the log, applied to the cache.
    func pollOnce() async throws
}

/// The state of a ``SingleFlightPolling`` cache's polls.
struct SingleFlightPolls {
    var running: Task<(any Error)?, Never>?
    var started = 0
    var finished = 0
}

extension SingleFlightPolling {
    /// Polls, or waits for a poll that started after this call: concurrent readers share one poll, and none is
    /// answered from a poll that began before it arrived.
    func pollOrJoin() async throws {
        let needed = polls.started + 1
        while polls.finished < needed {
            if let running = polls.running {
                let error = await running.value
                if polls.finished >= needed, let error { throw error }
                continue
            }
            polls.started += 1
            let generation = polls.started
            polls.running = Task { await self.poll(generation) }
        }
    }

    private func poll(_ generation: Int) async -> (any Error)? {
        defer {
            polls.finished = generation
            polls.running = nil
        }
        do {
            try await pollOnce()
            return nil
        } catch {
            return error
        }
    }
}
