import Synchronization
import Testing

@testable import QueryModel

/// ``JoinedReads``: a caller never gets a run that started before it called, and callers waiting together share one.
@Suite struct JoinedReadsTests {
    /// A read that counts its runs and waits until released, telling when each run has started.
    final class GatedRead: Sendable {
        let runs = Mutex(0)
        let started: AsyncStream<Int>
        private let startedContinuation: AsyncStream<Int>.Continuation
        let gate: AsyncStream<Void>
        let release: AsyncStream<Void>.Continuation

        init() {
            (started, startedContinuation) = AsyncStream.makeStream()
            (gate, release) = AsyncStream.makeStream()
        }

        func read() async throws -> Int {
            let run = runs.withLock {
                $0 += 1
                return $0
            }
            startedContinuation.yield(run)
            var gates = gate.makeAsyncIterator()
            _ = await gates.next()
            return run
        }
    }

    @Test func aCallerArrivingDuringARunGetsALaterRunAndWaitingCallersShareOne() async throws {
        let reads = JoinedReads<Int>()
        let g = GatedRead()
        var started = g.started.makeAsyncIterator()
        let first = Task { try await reads.read { try await g.read() } }
        #expect(await started.next() == 1)
        // Run 1 is under way: these callers arrived after it started, so they wait for one run after it, together.
        let late = (0..<3).map { _ in Task { try await reads.read { try await g.read() } } }
        try await Task.sleep(for: .milliseconds(50))
        // Two runs' worth of gates: the late callers must not take run 1's value, and one run serves all three.
        g.release.yield()
        g.release.yield()
        #expect(try await first.value == 1)
        for t in late { #expect(try await t.value == 2) }
        #expect(g.runs.withLock { $0 } == 2)
    }

    @Test func aFailedRunFailsItsCallersAndTheNextCallReadsAgain() async throws {
        struct Failure: Error {}
        let reads = JoinedReads<Int>()
        await #expect(throws: Failure.self) { try await reads.read { throw Failure() } }
        #expect(try await reads.read { 7 } == 7)
    }
}
