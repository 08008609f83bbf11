import Testing

@testable import Collector

/// The drill-down buffer keeps every error while it has room, samples the rest only when filling up, and
/// accounts for every offered event.
@Suite struct RawEventBufferTests {
    func row(_ i: Int, error: Bool) -> RawEvent {
        RawEvent(timestampMs: Int64(i), service: "s", kind: "request", status: error ? 500 : 200, isError: error, line: "{}")
    }

    /// Offers events as the ingest pipeline does: ask, then add what was wanted.
    func offer(_ buffer: RawEventBuffer, _ events: [RawEvent]) {
        var wanted: [RawEvent] = []
        var passed = 0
        for e in events {
            if buffer.wants(isError: e.isError, pending: wanted.count) { wanted.append(e) } else { passed += 1 }
        }
        buffer.add(wanted, sampledOut: passed)
    }

    @Test func bytesAreCappedNotOnlyRows() {
        var c = RawEventBuffer.Configuration()
        c.capacity = 1_000
        c.maxBytes = 100_000
        c.sampleAbove = 0.25
        c.sampleRate = 0
        let buffer = RawEventBuffer(configuration: c)
        let line = "{\"msg\":\"" + String(repeating: "x", count: 10_000) + "\"}"
        let big = (0..<50).map { i in
            RawEvent(timestampMs: Int64(i), service: "s", kind: "log", isError: i % 2 == 0, line: line)
        }
        for start in stride(from: 0, to: big.count, by: 5) { offer(buffer, Array(big[start..<start + 5])) }
        // About 10 KiB a row: the 100 000 bytes hold 9 rows although 1 000 rows would be allowed.
        #expect(buffer.bytes <= 100_000)
        #expect(buffer.count == 9)
        let counts = buffer.counts
        #expect(Int(counts.kept + counts.sampledOut + counts.droppedErrors + counts.droppedFull) == big.count)
        // Past a quarter of the bytes only errors were taken (the first batch was judged at an empty buffer).
        let kept = buffer.take(max: 100)
        #expect(kept.dropFirst(5).allSatisfy { $0.isError })
        #expect(kept.dropFirst(5).count == 4)
        #expect(buffer.bytes == 0)
        // A failed write puts back what fits.
        buffer.putBack(kept + kept)
        #expect(buffer.count == 9)
        #expect(buffer.bytes <= 100_000)
    }

    @Test func everythingIsKeptBelowTheWatermark() {
        var c = RawEventBuffer.Configuration()
        c.capacity = 1_000
        let buffer = RawEventBuffer(configuration: c)
        offer(buffer, (0..<200).map { row($0, error: $0 % 3 == 0) })
        #expect(buffer.count == 200)
        #expect(buffer.take(max: 500).map(\.timestampMs) == (0..<200).map(Int64.init))
    }

    @Test func errorsAreKeptAndTheRestSampledWhenFilling() {
        var c = RawEventBuffer.Configuration()
        c.capacity = 10_000
        c.sampleAbove = 0.1
        c.sampleRate = 0.05
        let buffer = RawEventBuffer(configuration: c)
        let events = (0..<20_000).map { row($0, error: $0 % 10 == 0) }
        // In ingest-sized batches: a batch is judged at the fill level it finds.
        for start in stride(from: 0, to: events.count, by: 100) { offer(buffer, Array(events[start..<start + 100])) }
        let kept = buffer.take(max: 20_000)
        let errors = kept.filter(\.isError).count
        #expect(errors == 2_000, "every error kept")
        let others = kept.count - errors
        // 1 000 slots below the watermark filled whole (900 of them non-errors), then ~5 % of the other 17 100.
        #expect(others > 900 + 500 && others < 900 + 1_300, "sampled: \(others)")
        let counts = buffer.counts
        #expect(counts.kept + counts.sampledOut + counts.droppedErrors + counts.droppedFull == 20_000)
    }

    @Test func oneHugeBatchIsSampledPastTheWatermarkToo() {
        var c = RawEventBuffer.Configuration()
        c.capacity = 10_000
        c.sampleAbove = 0.25
        c.sampleRate = 0
        let buffer = RawEventBuffer(configuration: c)
        offer(buffer, (0..<50_000).map { row($0, error: false) })
        #expect(buffer.count == 2_500)
        #expect(buffer.counts.sampledOut == 47_500)
    }

    @Test func aFullBufferDropsAndCountsInsteadOfBlocking() {
        var c = RawEventBuffer.Configuration()
        c.capacity = 1_000
        c.sampleRate = 1
        let buffer = RawEventBuffer(configuration: c)
        offer(buffer, (0..<1_500).map { row($0, error: $0 >= 1_400) })
        #expect(buffer.count == 1_000)
        let counts = buffer.counts
        #expect(counts.droppedErrors == 100)
        #expect(counts.kept + counts.sampledOut + counts.droppedErrors + counts.droppedFull == 1_500)
        // A failed write puts rows back without growing past capacity.
        let taken = buffer.take(max: 10)
        buffer.putBack(taken)
        #expect(buffer.count == 1_000)
    }
}

/// The raw event writer's pacing: after a batch it waits out the rest of the time the rate allows.
@Suite struct RawEventWriterPacingTests {
    @Test func pausesSoTheRateStaysAtMostTheLimit() {
        // 5 000 rows at 20 000/s may take 250 ms: a write that took 50 ms waits 200 ms more.
        #expect(RawEventWriter.pause(wrote: 5_000, took: .milliseconds(50), maxPerSecond: 20_000) == .milliseconds(200))
        #expect(RawEventWriter.pause(wrote: 5_000, took: .milliseconds(300), maxPerSecond: 20_000) == nil)
        #expect(RawEventWriter.pause(wrote: 5_000, took: .zero, maxPerSecond: nil) == nil)
        #expect(RawEventWriter.pause(wrote: 0, took: .zero, maxPerSecond: 20_000) == nil)
        #expect(RawEventWriter.pause(wrote: 1, took: .zero, maxPerSecond: 1_000) == .milliseconds(1))
    }
}
