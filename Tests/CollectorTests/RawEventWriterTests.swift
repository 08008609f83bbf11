import Logging
import Synchronization
import Testing

@testable import Collector

/// The raw-event writer gives way while the metrics trail what was acknowledged, for at most its longest stretch, and
/// writes once they have caught up.
@Suite struct RawEventWriterTests {
    func rows(_ n: Int, from: Int = 0) -> [RawEvent] {
        (from..<from + n).map {
            RawEvent(timestampMs: Int64($0), service: "s", kind: "log", isError: false, line: #"{"n":\#($0)}"#)
        }
    }

    func stored(_ store: InMemoryRawEventStore) async throws -> Int {
        try await store.query(RawEventQuery(fromMs: 0, toMs: .max, limit: 10_000)).count
    }

    /// Waits (bounded) until `store` holds `n` rows; false when it never does.
    func eventually(_ store: InMemoryRawEventStore, holds n: Int) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if try await stored(store) >= n { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        // Once more after the deadline: on a machine busy with other tests the sleep above may wake long after it.
        return try await stored(store) >= n
    }

    @Test func itGivesWayWhileBehindThenWritesWhenCaughtUp() async throws {
        let buffer = RawEventBuffer()
        let store = InMemoryRawEventStore()
        let behind = Atomic(true)
        var configuration = RawEventWriter.Configuration()
        configuration.longestGiveWay = .seconds(600)
        configuration.giveWayCheck = .milliseconds(5)
        configuration.maxRowsPerSecond = nil
        let writer = RawEventWriter(
            configuration: configuration, buffer: buffer, store: store, now: { 0 },
            behind: { behind.load(ordering: .relaxed) }, logger: Logger(label: "test"))
        buffer.add(rows(50), sampledOut: 0)
        let task = Task { try await writer.run() }
        defer { task.cancel() }
        // Far below its longest stretch: nothing may be written while the metrics trail.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await stored(store) == 0, "written while behind")
        #expect(buffer.count == 50)
        behind.store(false, ordering: .relaxed)
        #expect(try await eventually(store, holds: 50), "written once caught up")
    }

    /// A backlog that clears for a moment (between two read-backs of a burst) does not let the writer in: it gives
    /// way for its hold after the metrics last trailed.
    @Test func itHoldsBackForAWhileAfterCatchingUp() async throws {
        let buffer = RawEventBuffer()
        let store = InMemoryRawEventStore()
        let behind = Atomic(true)
        let looks = Atomic(0)
        var configuration = RawEventWriter.Configuration()
        configuration.longestGiveWay = .seconds(600)
        configuration.giveWayCheck = .milliseconds(5)
        configuration.giveWayHold = .seconds(3)
        configuration.maxRowsPerSecond = nil
        let writer = RawEventWriter(
            configuration: configuration, buffer: buffer, store: store, now: { 0 },
            behind: {
                looks.add(1, ordering: .relaxed)
                return behind.load(ordering: .relaxed)
            }, logger: Logger(label: "test"))
        buffer.add(rows(40), sampledOut: 0)
        let task = Task { try await writer.run() }
        defer { task.cancel() }
        // Caught up only once the writer has seen the metrics trail (its task may start late on a busy machine).
        let deadline = ContinuousClock.now + .seconds(20)
        while looks.load(ordering: .relaxed) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        behind.store(false, ordering: .relaxed)
        let caughtUp = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await stored(store) == 0, "written within the hold after catching up")
        #expect(try await eventually(store, holds: 40), "written after the hold")
        // The hold runs from the writer's last look that found it behind, a check (5 ms) or a scheduling delay
        // before `caughtUp`: well past the check, well short of the hold.
        #expect(ContinuousClock.now - caughtUp >= .milliseconds(2_500), "not before the hold ended")
    }

    /// One stretch of giving way at most per twice its length, however long the metrics trail: the writer writes
    /// at least half the time.
    @Test func aStretchAtMostEveryTwiceItsLength() {
        let t0 = ContinuousClock.now
        let s: (Int) -> ContinuousClock.Instant = { t0 + .seconds($0) }
        var stretch: ContinuousClock.Instant?
        let longest = Duration.seconds(5)
        // Behind at every second for 30 s: gives way 0–4, writes 5–9, gives way 10–14, …
        let asked = (0..<30).map { RawEventWriter.givesWay(at: s($0), stretch: &stretch, longest: longest) }
        #expect(asked == (0..<30).map { $0 % 10 < 5 })
        // Behind at 30 (a new stretch), caught up at 31–32, behind again at 33: within 2 × 5 s of the stretch that
        // began at 30, which it continues to its end at 35; no new one until 40.
        #expect(RawEventWriter.givesWay(at: s(30), stretch: &stretch, longest: longest))
        #expect(RawEventWriter.givesWay(at: s(33), stretch: &stretch, longest: longest))
        #expect(stretch == s(30))
        #expect(!RawEventWriter.givesWay(at: s(36), stretch: &stretch, longest: longest))
        #expect(RawEventWriter.givesWay(at: s(41), stretch: &stretch, longest: longest))
        #expect(stretch == s(41))
    }

    @Test func itWritesAnywayAfterItsLongestStretch() async throws {
        let buffer = RawEventBuffer()
        let store = InMemoryRawEventStore()
        var configuration = RawEventWriter.Configuration()
        configuration.longestGiveWay = .milliseconds(200)
        configuration.giveWayCheck = .milliseconds(5)
        configuration.maxRowsPerSecond = nil
        let began = ContinuousClock.now
        let writer = RawEventWriter(
            configuration: configuration, buffer: buffer, store: store, now: { 0 }, behind: { true },
            logger: Logger(label: "test"))
        buffer.add(rows(30), sampledOut: 0)
        let task = Task { try await writer.run() }
        defer { task.cancel() }
        // A hot store that stays away must not stop the drill-down.
        #expect(try await eventually(store, holds: 30), "written after the longest stretch, still behind")
        #expect(ContinuousClock.now - began >= .milliseconds(200), "not before the stretch ended")
        buffer.add(rows(20, from: 30), sampledOut: 0)
        #expect(try await eventually(store, holds: 50), "and on, while still behind")
    }
}
