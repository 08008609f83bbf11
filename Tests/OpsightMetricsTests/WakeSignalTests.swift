import Synchronization
import Testing

@testable import OpsightMetrics

/// The run loops' latch: a signal is delivered to a wait once, and never lost to a wait that was cancelled.
@Suite struct WakeSignalTests {
    @Test func aSignalBeforeTheWaitIsKeptForIt() async throws {
        let signal = WakeSignal()
        signal.signal()
        try await waitReturns(signal)
    }

    /// A wait that is cancelled before it starts (the branch of a race that lost: the emitter waits on the latch and a
    /// clock together and cancels the loser) returns without taking a pending signal, which stays for the next wait.
    @Test func aCancelledWaitLeavesAPendingSignal() async throws {
        let signal = WakeSignal()
        signal.signal()
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await signal.wait()
        }
        await cancelled.value
        try await waitReturns(signal)
    }

    /// A waiter cancelled while it waits returns, and a later signal reaches the next wait.
    @Test func aSignalAfterACancelledWaiterReachesTheNextWait() async throws {
        let signal = WakeSignal()
        let waiting = Task { await signal.wait() }
        try await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        await waiting.value
        signal.signal()
        try await waitReturns(signal)
    }

    /// A `wait()` returns: within a minute, however loaded the machine (a lost signal leaves it waiting for good).
    private func waitReturns(_ signal: WakeSignal, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let returned = Returned()
        let waiting = Task {
            await signal.wait()
            returned.flag.store(true, ordering: .releasing)
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !returned.flag.load(ordering: .acquiring), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let done = returned.flag.load(ordering: .acquiring)
        #expect(done, "the signal was lost", sourceLocation: sourceLocation)
        waiting.cancel()
        await waiting.value
    }
}

private final class Returned: Sendable {
    let flag = Atomic(false)
}
