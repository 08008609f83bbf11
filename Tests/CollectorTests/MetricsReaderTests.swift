import OpsightMetrics
import Testing

@testable import Collector
@testable import QueryModel

@Suite struct MetricsReaderTests {
    /// A request event at `ms`.
    func request(_ ms: Int64, duration: Double = 10) -> Event {
        var e = Event(timestampMs: ms, service: "api", kind: .request)
        e.route = "/a"
        e.method = "GET"
        e.status = 200
        e.durationMs = duration
        return e
    }

    func stores(_ events: [Event]) async throws -> (InMemoryMetricsStore, InMemoryMetricsStore) {
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let batch = BatchAggregate(events: events, rules: .init())
        try await hot.commit(batch.hot, position: 1, collector: "c")
        try await durable.commit(batch.durable, position: 1, collector: "c")
        return (hot, durable)
    }

    func count(_ r: MetricsReader.Result) -> UInt64 { r.data.requests.values.reduce(0) { $0 + $1.count } }

    /// Window `windowMs` at `timeMs` (nil: at now) by a reader whose clock reads `nowMs`.
    func read(
        _ hot: any MetricsStore, _ durable: any MetricsStore, service: String?, windowMs: Int64, timeMs: Int64?,
        nowMs: Int64
    ) async throws -> MetricsReader.Result {
        try await MetricsReader(hot: hot, durable: durable, clock: WallClock { nowMs })
            .window(service: service, windowMs: windowMs, at: timeMs.map { .at($0) } ?? .now(nowMs))
    }

    @Test func windowIsOpenAtTheOldEdgeAndClosedAtTheNewOne() async throws {
        let t: Int64 = 1_795_000_020_000  // on the 10 s and the minute grid
        let w: Int64 = 300_000
        let events = [request(t - w), request(t - w + 1), request(t), request(t + 1)]
        let (hot, durable) = try await stores(events)
        let r = try await read(hot, durable, service: "api", windowMs: w, timeMs: t, nowMs: t + 60_000)
        #expect(count(r) == 2)
        #expect(r.timeMs == t)
    }

    @Test func pastTimeRoundsDownToTheTenSecondGrid() async throws {
        let t: Int64 = 1_795_000_020_000
        let (hot, durable) = try await stores([request(t - 5), request(t + 3_000)])
        let r = try await read(hot, durable, service: nil, windowMs: 60_000, timeMs: t + 9_999, nowMs: t + 120_000)
        #expect(r.timeMs == t)
        #expect(count(r) == 1)
    }

    @Test func nowIncludesEverythingUpToNow() async throws {
        let now: Int64 = 1_795_000_023_456
        let (hot, durable) = try await stores([request(now - 59_000), request(now - 1), request(now), request(now + 1_000)])
        let r = try await read(hot, durable, service: "api", windowMs: 60_000, timeMs: nil, nowMs: now)
        // The old edge is on the grid: (ceil(now/10s)·10s − 60s, now] holds the first three.
        #expect(count(r) == 3)
        #expect(r.timeMs == now)
    }

    @Test func theCallerSaysWhetherATimeIsNow() async throws {
        let now: Int64 = 1_795_000_023_456
        let (hot, durable) = try await stores([request(now - 59_000), request(now - 1_500), request(now - 1)])
        let reader = MetricsReader(hot: hot, durable: durable, clock: WallClock { now + 5 })
        // An evaluation at its current time, even one the reader's clock has passed: (ceil(t/10s)·10s − 60s, t],
        // not rounded down to the grid, which would lose the two newest events and keep the oldest.
        let r = try await reader.window(service: "api", windowMs: 60_000, at: .now(now))
        #expect(count(r) == 2)
        #expect(r.timeMs == now)
        // The same instant given as a time is a past time on the grid.
        let past = try await reader.window(service: "api", windowMs: 60_000, at: .at(now))
        #expect(past.timeMs == 1_795_000_020_000)
        #expect(count(past) == 1)
    }

    @Test(arguments: [Int64.min, -1, 4_102_444_800_001, .max])
    func timesOutsideTheRangeAreRefusedNotComputed(time: Int64) async throws {
        let (hot, durable) = try await stores([])
        let reader = MetricsReader(hot: hot, durable: durable)
        await #expect(throws: CollectorError.self) {
            _ = try await reader.window(service: nil, windowMs: 60_000, at: .at(time))
        }
        for window: Int64 in [.max, 32 * 86_400_000, -10_000] {
            await #expect(throws: CollectorError.self) {
                _ = try await reader.window(service: nil, windowMs: window, at: .now(1_795_000_000_000))
            }
        }
    }

    @Test func longWindowsComeFromRollupsPlusTheNewestHotMinutes() async throws {
        let now: Int64 = 1_795_000_023_456
        let sixHours: Int64 = 21_600_000
        var events: [Event] = []
        for minute in stride(from: Int64(0), to: 400, by: 7) { events.append(request(now - minute * 60_000)) }
        let (hot, durable) = try await stores(events)
        let r = try await read(hot, durable, service: "api", windowMs: sixHours, timeMs: nil, nowMs: now)
        let edge = (TimeBucket.index(ofMs: now, widthMs: 60_000)) * 60_000 - sixHours
        #expect(count(r) == UInt64(events.filter { $0.timestampMs > edge && $0.timestampMs <= now }.count))
        // A past time far outside hot retention is served from rollups on the minute grid.
        let past = now - 3 * 3_600_000 + 12_345
        let p = try await read(hot, durable, service: "api", windowMs: 3_600_000 * 2, timeMs: past, nowMs: now)
        let pastEnd = (past / 60_000) * 60_000
        #expect(p.timeMs == pastEnd)
        #expect(count(p) == UInt64(events.filter { $0.timestampMs > pastEnd - 7_200_000 && $0.timestampMs <= pastEnd }.count))
    }

    @Test func windowsOffTheGridAreRejected() async throws {
        let (hot, durable) = try await stores([])
        await #expect(throws: CollectorError.self) {
            _ = try await read(hot, durable, service: nil, windowMs: 15_000, timeMs: nil, nowMs: 1_000_000)
        }
        await #expect(throws: CollectorError.self) {
            _ = try await read(hot, durable, service: nil, windowMs: 7_200_000 + 10_000, timeMs: nil, nowMs: 1_000_000)
        }
    }

    /// A chart's points read together (``MetricsReader/windowSeries(service:windowMs:at:empty:project:merge:)``) are each
    /// point's own window read: hot points summed from buckets read once, older ones from the rollups, times off the
    /// grid and ahead of now, two services and one with no data; a window that is not whole minutes fails past the
    /// hot buckets as a read of such a point fails.
    @Test(arguments: [10_000, 90_000, 300_000, 3_600_000, 7_200_000] as [Int64])
    func windowSeriesEqualsOneReadPerPoint(windowMs: Int64) async throws {
        let now: Int64 = 1_795_000_023_456
        var rng = SplitMix64(seed: UInt64(windowMs))
        var events: [Event] = []
        for i in 0..<3_000 {
            var e = request(now - Int64.random(in: -20_000..<14_400_000, using: &rng), duration: Double.random(in: 0...900, using: &rng))
            e.service = i % 3 == 0 ? "web" : "api"
            e.route = ["/a", "/b", "/c/:id"][i % 3]
            e.status = [200, 404, 503][Int.random(in: 0..<3, using: &rng)]
            events.append(e)
        }
        let (hot, durable) = try await stores(events)
        let reader = MetricsReader(hot: hot, durable: durable, clock: WallClock { now })
        let recent = Array(stride(from: now - 4_200_000, through: now + 60_000, by: 97_531))
        let all = Array(stride(from: now - 10_800_000, through: now, by: 154_321))
        for service in ["api", "web", "none"] {
            for times in [recent, all] {
                var expected: [WindowData]? = []
                do {
                    for t in times { expected!.append(try await reader.window(service: service, windowMs: windowMs, at: .at(t)).data) }
                } catch is CollectorError {
                    expected = nil
                }
                let batch = { try await reader.windowSeries(
                    service: service, windowMs: windowMs, at: times, empty: WindowData(), project: { $0 },
                    merge: { $0.merge($1) }) }
                guard let expected else {
                    #expect(windowMs % 60_000 != 0, "only a window off the minute grid fails")
                    await #expect(throws: CollectorError.self) { _ = try await batch() }
                    continue
                }
                let got = try await batch()
                #expect(got.count == times.count)
                for (i, (g, e)) in zip(got, expected).enumerated() {
                    #expect(g == e, "\(service) window \(windowMs) point \(i) at \(times[i] - now) ms from now")
                }
                if service == "api" {
                    #expect(expected.contains { !$0.requests.isEmpty }, "some point has data")
                }
            }
        }
    }
}
