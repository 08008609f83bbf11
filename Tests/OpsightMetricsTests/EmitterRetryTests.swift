import Testing

@testable import OpsightMetrics

/// Failed deliveries are retried with backoff (honouring Retry-After) without losing or reordering events.
@Suite struct EmitterRetryTests {
    @Test func aBatchThatFailsSeveralTimesIsDeliveredOnceInOrder() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport(script: [
            .fail("connection refused"),
            .outcome(.retry(after: .seconds(7), reason: "HTTP 503")),
            .outcome(.retry(after: nil, reason: "HTTP 429")),
        ])
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock, configuration: .init(maxBatchLines: 4, maxBatchDelay: .seconds(1)))
        let loop = Task { await emitter.run() }
        for i in 0..<10 { emitter.funnel(event: "e\(i)", entity: "u") }
        // Backoff with no jitter: 250 ms, then the server's 7 s (above the 500 ms backoff), then 1 s.
        for (attempts, wait) in [(1, Duration.milliseconds(250)), (2, .seconds(7)), (3, .seconds(1))] {
            try await eventually("attempt \(attempts) waits to retry") {
                transport.attempts.count == attempts && clock.nextWake == wait
            }
            clock.advance(by: wait)
        }
        try await eventually("the first two batches are delivered") { transport.deliveredBodies.count == 2 }
        #expect(Set(transport.attempts.prefix(4)).count == 1, "every retry sends the same body")
        clock.advance(by: .seconds(1))
        try await eventually("the rest is delivered") { transport.deliveredLines.count == 10 }
        let names = try EmitterTestSupport.decode(transport.deliveredLines).map(\.name)
        #expect(names == (0..<10).map { "e\($0)" })
        let stats = emitter.statistics
        #expect(stats.accepted == 10)
        #expect(stats.retries == 3)
        #expect(stats.failed == 0)
        #expect(stats.lastError == "HTTP 429")
        emitter.shutdown()
        await finish(loop)
    }

    @Test func aPermanentRefusalDropsOnlyThatBatch() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport(script: [.outcome(.permanent(reason: "HTTP 400: bad"))])
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock, configuration: .init(maxBatchLines: 3))
        for i in 0..<5 { emitter.funnel(event: "e\(i)", entity: "u") }
        let loop = Task { await emitter.run() }
        await emitter.flush()
        #expect(transport.attempts.count == 2, "a permanent refusal is not retried")
        #expect(try EmitterTestSupport.decode(transport.deliveredLines).map(\.name) == ["e3", "e4"])
        let stats = emitter.statistics
        #expect(stats.failed == 3)
        #expect(stats.accepted == 2)
        #expect(stats.retries == 0)
        emitter.shutdown()
        await finish(loop)
    }

    @Test func aBatchIsGivenUpAfterTheLastAttempt() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport(script: Array(repeating: .fail("down"), count: 3))
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock, configuration: .init(retry: RetryPolicy(maxAttempts: 3)))
        emitter.funnel(event: "lost", entity: "u")
        let loop = Task { await emitter.run() }
        let flushed = Task { await emitter.flush() }
        for attempts in 1...2 {
            try await eventually("attempt \(attempts) waits") {
                transport.attempts.count == attempts && clock.sleeperCount == 1
            }
            clock.advance(by: .seconds(60))
        }
        await finish(flushed)
        #expect(transport.attempts.count == 3)
        #expect(emitter.statistics.failed == 1)
        emitter.funnel(event: "kept", entity: "u")
        await emitter.flush()
        #expect(try EmitterTestSupport.decode(transport.deliveredLines).map(\.name) == ["kept"])
        emitter.shutdown()
        await finish(loop)
    }

    @Test func backoffGrowsToItsCapWithJitterAndRetryAfterAsAFloor() {
        let policy = RetryPolicy(initialBackoff: .milliseconds(100), maxBackoff: .seconds(1), jitter: 0.5)
        let full = (1...6).map { policy.delay(afterAttempt: $0, retryAfter: nil, random: 0) }
        #expect(
            full == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1),
                .seconds(1),
            ])
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 0.999_999) == .milliseconds(200))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(30), random: 0) == .seconds(30))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3_600), random: 0) == .seconds(300))
        var rng = SplitMix64(seed: 7)
        for attempt in 1...20 {
            let r = Double.random(in: 0..<1, using: &rng)
            let wait = policy.delay(afterAttempt: attempt, retryAfter: nil, random: r)
            let cap = full[min(attempt, 6) - 1]
            #expect(wait <= cap && wait * 2 >= cap)
        }
    }
}
