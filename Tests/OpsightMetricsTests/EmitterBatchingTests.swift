import Testing

@testable import OpsightMetrics

/// Batches leave by age (on the injected clock), by line count and on flush.
@Suite struct EmitterBatchingTests {
    @Test func aBatchLeavesWhenItsOldestEventReachesTheMaximumDelay() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock, configuration: .init(maxBatchDelay: .seconds(2)))
        let loop = Task { await emitter.run() }
        for i in 0..<3 { emitter.funnel(event: "e\(i)", entity: "u") }
        try await eventually("the run loop waits 2 s for the batch timer") { clock.nextWake == .seconds(2) }
        clock.advance(by: .milliseconds(1_999))
        await settle()
        #expect(transport.attempts.isEmpty)
        clock.advance(by: .milliseconds(1))
        try await eventually("the batch is sent") { transport.attempts.count == 1 }
        #expect(try EmitterTestSupport.decode(transport.deliveredLines).map(\.name) == ["e0", "e1", "e2"])
        emitter.shutdown()
        await finish(loop)
    }

    @Test func aFullBatchLeavesWithoutWaitingForTheTimer() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock, configuration: .init(maxBatchLines: 5, maxBatchDelay: .seconds(60)))
        let loop = Task { await emitter.run() }
        for i in 0..<12 { emitter.funnel(event: "e\(i)", entity: "u") }
        try await eventually("two full batches are sent") { transport.attempts.count == 2 }
        await settle()
        #expect(transport.attempts.count == 2, "the last 2 events wait for the timer")
        #expect(emitter.statistics.buffered == 2)
        clock.advance(by: .seconds(60))
        try await eventually("the remainder is sent by age") { transport.attempts.count == 3 }
        let names = try EmitterTestSupport.decode(transport.deliveredLines).map(\.name)
        #expect(names == (0..<12).map { "e\($0)" })
        #expect(transport.deliveredBodies.map { $0.filter { $0 == 0x0A }.count } == [5, 5, 2])
        emitter.shutdown()
        await finish(loop)
    }

    @Test func aBatchIsSplitAtTheByteLimit() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock, configuration: .init(maxBatchBytes: 2_000))
        let message = String(repeating: "x", count: 300)
        for _ in 0..<20 { emitter.log(level: .info, message: message) }
        let loop = Task { await emitter.run() }
        await emitter.flush()
        let bodies = transport.deliveredBodies
        #expect(bodies.count > 1)
        for body in bodies.dropLast() { #expect(body.count >= 2_000 && body.count < 2_000 + 400) }
        #expect(transport.deliveredLines.count == 20)
        emitter.shutdown()
        await finish(loop)
    }

    @Test func flushSendsAtOnceAndReturnsWhenDelivered() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(transport: transport, clock: clock)
        let loop = Task { await emitter.run() }
        emitter.request(route: "/a/:id", method: "GET", status: 200, duration: .milliseconds(12), requestID: "r1")
        await emitter.flush()
        let events = try EmitterTestSupport.decode(transport.deliveredLines)
        #expect(events.count == 1)
        #expect(events.first?.route == "/a/:id")
        #expect(events.first?.durationMs == 12)
        #expect(emitter.statistics.accepted == 1)
        emitter.shutdown()
        await finish(loop)
    }
}
