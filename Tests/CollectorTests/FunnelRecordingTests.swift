import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector
@testable import QueryModel

/// Funnels from ingest to figures: journeys sent as NDJSON (named events, requests and jobs as steps) go
/// through the write-ahead log, the aggregator and the flush into the stores, and the ``FunnelReader``'s
/// figures equal the brute-force oracle of ``FunnelEvaluatorTests`` over the same journeys — also with the
/// lines split between two collectors, and across crashes with replay.
@Suite struct FunnelRecordingTests {
    static let base: Int64 = 1_795_000_000_000
    static let nowMs = base + 20_000_000

    static let funnel = FunnelDefinition(
        name: "assessment_journey", windowMs: FunnelEvaluatorTests.conversionMs,
        steps: [
            FunnelStep(name: "document_uploaded", matcher: .event("document_uploaded")),
            FunnelStep(
                name: "assessment_requested",
                matcher: .fields(["route": "/api/v1/assessments", "method": "POST", "status_class": "2xx"])),
            FunnelStep(name: "assessment_completed", matcher: .fields(["kind": "job", "queue": "assessments", "event": "succeeded"])),
            FunnelStep(name: "report_viewed", matcher: .event("report_viewed")),
        ])

    /// The lines of one entity's step times, each step in its own shape, plus lines that are no step.
    static func lines(entity: String, times: [[Int64]], rng: inout SplitMix64) -> [String] {
        var out: [String] = []
        for (k, list) in times.enumerated() {
            for t in list {
                switch k {
                case 0: out.append(#"{"ts":\#(t),"service":"app","event":"document_uploaded","entity":"\#(entity)"}"#)
                case 1:
                    out.append(
                        #"{"ts":\#(t),"service":"app","route":"/api/v1/assessments","method":"POST","status":202,"duration_ms":12,"entity":"\#(entity)"}"#)
                case 2:
                    out.append(
                        #"{"ts":\#(t),"service":"app","kind":"job","queue":"assessments","job":"assess","job_id":7,"event":"succeeded","duration_ms":900,"entity":"\#(entity)"}"#)
                default: out.append(#"{"ts":\#(t),"service":"app","event":"report_viewed","entity":"\#(entity)"}"#)
                }
            }
        }
        // Near misses that must not count: a failed request and a failed job of the entity, a request without
        // an entity, an unrelated event.
        let t = base + Int64.random(in: 0..<7_200_000, using: &rng)
        out.append(#"{"ts":\#(t),"service":"app","route":"/api/v1/assessments","method":"POST","status":500,"duration_ms":3,"entity":"\#(entity)"}"#)
        out.append(#"{"ts":\#(t),"service":"app","kind":"job","queue":"assessments","job":"assess","job_id":8,"event":"failed","duration_ms":5,"entity":"\#(entity)"}"#)
        out.append(#"{"ts":\#(t),"service":"app","route":"/api/v1/assessments","method":"POST","status":202,"duration_ms":1}"#)
        out.append(#"{"ts":\#(t),"service":"app","event":"signed_up","entity":"\#(entity)"}"#)
        return out
    }

    static func corpus(seed: UInt64, entities: Int) -> (journeys: [[[Int64]]], lines: [String]) {
        var rng = SplitMix64(seed: seed)
        var journeys: [[[Int64]]] = []
        var lines: [String] = []
        for i in 0..<entities {
            let times = FunnelEvaluatorTests.journey(&rng, base: base)
            journeys.append(times)
            lines += Self.lines(entity: "user-\(i)", times: times, rng: &rng)
        }
        lines.shuffle(using: &rng)
        return (journeys, lines)
    }

    static func open(_ dir: String, _ hot: InMemoryMetricsStore, _ durable: InMemoryMetricsStore) async throws -> (
        CollectorRuntime, Flusher
    ) {
        let logger = Logger(label: "test")
        let ingest = IngestPipeline.Configuration(
            decoder: .init(maxAgeMs: Int64.max / 4), rules: .init(funnels: [funnel]))
        let runtime = try await CollectorRuntime.open(
            wal: .init(directory: dir), ingest: ingest, hot: hot, durable: durable, logger: logger)
        let flusher = Flusher(
            aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
            collectorID: runtime.collectorID, status: runtime.status, logger: logger)
        return (runtime, flusher)
    }

    static func body(_ lines: ArraySlice<String>) -> [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }

    /// The reader's figures equal the oracle's for several windows and times.
    static func checkAgainstOracle(
        _ journeys: [[[Int64]]], hot: InMemoryMetricsStore, durable: InMemoryMetricsStore
    ) async throws {
        let reader = FunnelReader(funnels: [funnel], hot: hot, durable: durable, clock: WallClock { nowMs })
        for t in [base + 3_600_000, base + 7_200_000, base + 9_000_000, nowMs] {
            let windows: [Int64] = [600_000, 3_600_000, 86_400_000]
            let figures = try await reader.figures(funnel, windowsMs: windows, at: .at(t))
            for f in figures {
                let want = FunnelEvaluatorTests.oracle(journeys, windowMs: f.windowMs, t: t)
                #expect(f.result.entered == want.entered, "entered, window \(f.windowMs) at \(t)")
                #expect(f.result.reached == want.reached, "reached, window \(f.windowMs) at \(t)")
                #expect(f.result.timesToConvertMs.sorted() == want.timesToConvertMs.sorted(), "time to convert")
                let sorted = want.timesToConvertMs.sorted()
                if !sorted.isEmpty {
                    #expect(f.timeToConvert(0.5) == Double(sorted[(sorted.count - 1) / 2]) / 1000)
                    #expect(f.timeToConvert(0.95) == Double(sorted[Int(0.95 * Double(sorted.count - 1))]) / 1000)
                }
            }
            #expect(figures[1].result.entered > 0 && figures[1].result.reached[3] > 0 || t == nowMs)
            // Each store on its own holds every record: the hot one answers windows of its range when the
            // evaluation time is now, the durable one everything older.
            let empty = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
            let hotOnly = try await FunnelReader(funnels: [funnel], hot: hot, durable: empty)
                .figures(funnel, windowsMs: [600_000, 3_600_000], at: .now(t))
            let durableOnly = try await FunnelReader(
                funnels: [funnel], hot: empty, durable: durable, clock: WallClock { t + 86_400_000 }
            ).figures(funnel, windowsMs: windows, at: .at(t))
            for f in hotOnly + durableOnly {
                let want = FunnelEvaluatorTests.oracle(journeys, windowMs: f.windowMs, t: t)
                #expect(f.result.entered == want.entered && f.result.reached == want.reached, "one store, \(f.windowMs)")
            }
        }
    }

    @Test(arguments: [11, 12] as [UInt64])
    func ingestedJourneysGiveTheOraclesFigures(seed: UInt64) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (journeys, lines) = Self.corpus(seed: seed, entities: 2_000)
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let (runtime, flusher) = try await Self.open(dir, hot, durable)
        var offset = 0
        while offset < lines.count {
            let end = min(offset + 997, lines.count)
            let result = try await runtime.pipeline.ingest(Self.body(lines[offset..<end]), nowMs: Self.nowMs)
            #expect(result.rejected == 0)
            offset = end
        }
        #expect(await flusher.flushNow())
        runtime.commitLog.shutdown()
        try await Self.checkAgainstOracle(journeys, hot: hot, durable: durable)
    }

    /// Lines split at random between two collectors sharing the stores, one of them crashing (its unflushed
    /// aggregate lost) and replaying its log, and a batch sent twice to both: each entity still counts once.
    @Test func twoCollectorsCrashesAndDuplicatesCountEachEntityOnce() async throws {
        let dirA = temporaryDirectory()
        let dirB = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: dirA)
            try? FileManager.default.removeItem(atPath: dirB)
        }
        var rng = SplitMix64(seed: 99)
        let (journeys, lines) = Self.corpus(seed: 13, entities: 1_500)
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        var (a, flushA) = try await Self.open(dirA, hot, durable)
        let (b, flushB) = try await Self.open(dirB, hot, durable)
        var offset = 0
        var batch = 0
        while offset < lines.count {
            let end = min(offset + Int.random(in: 50...400, using: &rng), lines.count)
            let slice = lines[offset..<end]
            let toA = Bool.random(using: &rng) || batch == 23
            _ = try await (toA ? a : b).pipeline.ingest(Self.body(slice), nowMs: Self.nowMs)
            if batch % 7 == 3 {
                // The same batch again, to the other collector too (a client retry after a lost answer).
                _ = try await (toA ? b : a).pipeline.ingest(Self.body(slice), nowMs: Self.nowMs)
            }
            if batch % 5 == 0 { _ = await (Bool.random(using: &rng) ? flushA : flushB).flushNow() }
            if batch == 23 {
                // Collector A dies without flushing; its log is replayed when it comes back.
                a.commitLog.shutdown()
                (a, flushA) = try await Self.open(dirA, hot, durable)
                #expect(a.replayedRecords > 0)
            }
            offset = end
            batch += 1
        }
        #expect(await flushA.flushNow())
        #expect(await flushB.flushNow())
        a.commitLog.shutdown()
        b.commitLog.shutdown()
        try await Self.checkAgainstOracle(journeys, hot: hot, durable: durable)
    }

    /// The hot store answers the recent part: with old records gone from it, figures still come out right from
    /// the durable store, and records only the hot store has yet are counted.
    @Test func readsOldRecordsFromTheDurableStoreAndNewOnesFromTheHotStore() async throws {
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let now = Self.base + 86_400_000
        func record(_ step: Int, _ entity: String, _ ts: Int64) -> FunnelStepRecord {
            FunnelStepRecord(funnel: Self.funnel.storageName, step: step, entity: entity, timestampMs: ts)
        }
        // u1 converted six hours ago (durable only, as after the hot trim); u2 entered a minute ago, and its
        // newest steps are not flushed to the durable store yet.
        var old = Delta()
        old.funnelSteps = [
            record(0, "u1", now - 21_600_000), record(1, "u1", now - 21_500_000), record(2, "u1", now - 21_400_000),
            record(3, "u1", now - 21_300_000), record(0, "u2", now - 60_000),
        ]
        try await durable.commit(old, position: 1, collector: "c")
        var recent = Delta()
        recent.funnelSteps = [record(0, "u2", now - 60_000), record(1, "u2", now - 30_000)]
        try await hot.commit(recent, position: 1, collector: "c")
        let reader = FunnelReader(funnels: [Self.funnel], hot: hot, durable: durable)
        let figures = try await reader.figures(Self.funnel, windowsMs: [3_600_000, 86_400_000], at: .now(now))
        #expect(figures[0].result.entered == 1 && figures[0].result.reached == [1, 1, 0, 0])
        #expect(figures[1].result.entered == 2 && figures[1].result.reached == [2, 2, 1, 1])
        #expect(figures[1].timeToConvert(0.5) == 300)
        #expect(figures[1].conversion(3) == 0.5 && figures[1].stepConversion(2) == 0.5)
    }
}
