import Synchronization
import Testing

@testable import OpsightMetrics

/// `shutdown()` delivers everything buffered before `run()` returns; nothing is lost silently.
@Suite struct EmitterShutdownTests {
    @Test func shutdownDeliversEverythingBufferedInOrder() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock,
            configuration: .init(maxBatchLines: 7, maxBatchDelay: .seconds(3_600)))
        let loop = Task { await emitter.run() }
        for i in 0..<50 { emitter.funnel(event: "e\(i)", entity: "u") }
        try await eventually("the full batches are sent") { transport.deliveredLines.count == 49 }
        emitter.shutdown()
        await finish(loop)
        let names = try EmitterTestSupport.decode(transport.deliveredLines).map(\.name)
        #expect(names == (0..<50).map { "e\($0)" })
        #expect(emitter.statistics.accepted == 50)
        emitter.funnel(event: "late", entity: "u")
        #expect(emitter.statistics.dropped == 1, "events after shutdown are dropped and counted")
    }

    @Test func shutdownRetriesWithinTheGracePeriodThenAccountsForWhatIsLeft() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport(script: Array(repeating: .fail("down"), count: 1_000))
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock,
            configuration: .init(
                maxBatchLines: 10, retry: RetryPolicy(maxAttempts: 1_000, initialBackoff: .seconds(1)),
                shutdownGracePeriod: .seconds(5)))
        for i in 0..<25 { emitter.funnel(event: "e\(i)", entity: "u") }
        // Shut down before the loop starts, so that the grace period starts at time 0 whatever the scheduling.
        emitter.shutdown()
        let loop = Task { await emitter.run() }
        // Retries go on until the next one would start after the 5 s grace period: the first batch retries
        // at 1 s and 3 s (not 7 s), the second at 4 s (not 6 s), the third at 5 s (not 7 s).
        for (attempts, wait) in [(1, Duration.seconds(1)), (2, .seconds(2)), (4, .seconds(1)), (6, .seconds(1))] {
            try await eventually("attempt \(attempts) waits \(wait)") {
                transport.attempts.count == attempts && clock.nextWake == wait
            }
            clock.advance(by: wait)
        }
        await finish(loop)
        #expect(clock.now.offset == .seconds(5))
        #expect(transport.attempts.count == 7)
        let stats = emitter.statistics
        #expect(stats.failed == 25)
        #expect(stats.emitted == stats.accepted + stats.failed + stats.dropped)
        #expect(stats.buffered == 0 && stats.inFlight == 0)
    }

    /// A transport whose every attempt takes 3 s (a collector that is away: each attempt runs into a timeout).
    final class SlowFailingTransport: Transport {
        let clock: ManualClock
        let count = Mutex(0)
        init(clock: ManualClock) { self.clock = clock }
        func send(body: [UInt8], lineCount: Int) async throws -> TransportOutcome {
            count.withLock { $0 += 1 }
            clock.advance(by: .seconds(3))
            return .retry(after: nil, reason: "timed out")
        }
    }

    @Test func pastTheGracePeriodWhatIsLeftFailsWithoutAnAttempt() async throws {
        let clock = ManualClock()
        let transport = SlowFailingTransport(clock: clock)
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock,
            configuration: .init(
                maxBatchLines: 10, retry: RetryPolicy(maxAttempts: 1), shutdownGracePeriod: .seconds(5)))
        for i in 0..<30 { emitter.funnel(event: "e\(i)", entity: "u") }
        emitter.shutdown()
        let loop = Task { await emitter.run() }
        await finish(loop)
        // Attempts at 0 s and 3 s; the third batch would start at 6 s, past the 5 s grace period.
        #expect(transport.count.withLock { $0 } == 2)
        let stats = emitter.statistics
        #expect(stats.failed == 30)
        #expect(stats.emitted == stats.accepted + stats.failed + stats.dropped)
    }

    @Test func shutdownWithoutEventsReturnsAtOnce() async {
        let emitter = EmitterTestSupport.emitter(transport: RecordingTransport(), clock: ManualClock())
        let loop = Task { await emitter.run() }
        emitter.shutdown()
        await finish(loop)
        #expect(emitter.statistics.emitted == 0)
    }
}
