import Testing

@testable import OpsightMetrics

/// A full buffer drops its oldest events, counts them exactly and keeps the newest in order.
@Suite struct EmitterBackpressureTests {
    @Test(arguments: [(10, 25), (10, 10), (1, 7), (100, 1_000)])
    func theOldestEventsAreDroppedAndCounted(capacity: Int, emitted: Int) async throws {
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock, configuration: .init(bufferCapacity: capacity, maxBatchLines: 1_000))
        for i in 0..<emitted { emitter.funnel(event: "e\(i)", entity: "u") }
        let dropped = max(emitted - capacity, 0)
        #expect(emitter.statistics.dropped == dropped)
        #expect(emitter.statistics.buffered == emitted - dropped)
        let loop = Task { await emitter.run() }
        await emitter.flush()
        let names = try EmitterTestSupport.decode(transport.deliveredLines).map(\.name)
        #expect(names == (dropped..<emitted).map { "e\($0)" })
        let stats = emitter.statistics
        #expect(stats.emitted == emitted)
        #expect(stats.accepted + stats.dropped == emitted)
        emitter.shutdown()
        await finish(loop)
    }

    @Test func emittingNeverWaitsForAStalledTransport() async throws {
        let clock = ManualClock()
        // Every attempt fails and the retry waits on a clock nobody advances: delivery is stuck.
        let transport = RecordingTransport(script: Array(repeating: .fail("down"), count: 100))
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock, configuration: .init(bufferCapacity: 50, maxBatchLines: 10))
        let loop = Task { await emitter.run() }
        for i in 0..<10 { emitter.funnel(event: "e\(i)", entity: "u") }
        try await eventually("the first batch is being retried") {
            clock.sleeperCount == 1 && transport.attempts.count == 1
        }
        for i in 10..<1_010 { emitter.funnel(event: "e\(i)", entity: "u") }
        let stats = emitter.statistics
        #expect(stats.inFlight == 10)
        #expect(stats.buffered == 50)
        #expect(stats.dropped == 1_000 - 50)
        loop.cancel()
        await finish(loop)
    }
}
