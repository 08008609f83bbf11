import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

/// Queue wait independent of arrival order and of collector (issue 14): `started` and `enqueued` pair whichever
/// arrives first, a late enqueue moves a start's wait (retracting the old sample), replays pair nothing twice, and
/// the figures equal the exact oracle of SPEC §3 — wait = started − latest enqueued at or before it.
@Suite struct QueueWaitPairingTests {
    static let base: Int64 = 1_795_000_000_000

    /// Job lifecycles with retries: each attempt enqueued then started a while later; a share of the jobs is started
    /// twice for one enqueue (a redelivery), and a few starts have no enqueue at all.
    static func lifecycles(jobs: Int, rng: inout SplitMix64) -> [Event] {
        var out: [Event] = []
        for j in 0..<jobs {
            let queue = ["assessments", "mail"][j % 2]
            let job = ["assess", "send"][j % 2]
            var t = base + Int64.random(in: 0..<3_000_000, using: &rng)
            let attempts = Int.random(in: 1...3, using: &rng)
            for a in 1...attempts {
                func event(_ type: JobEventType, _ ts: Int64) -> Event {
                    var e = Event(timestampMs: ts, service: "worker", kind: .job)
                    e.queue = queue
                    e.job = job
                    e.jobID = "job-\(j)"
                    e.jobEvent = type
                    e.attempt = a
                    e.durationMs = Double(a)
                    return e
                }
                let orphan = j % 17 == 0 && a == 1
                if !orphan { out.append(event(.enqueued, t)) }
                t += Int64.random(in: 0..<120_000, using: &rng)
                out.append(event(.started, t))
                if j % 11 == 0 { out.append(event(.started, t + 5)) }
                t += Int64.random(in: 1..<60_000, using: &rng)
                out.append(event(a == attempts ? .succeeded : .failed, t))
                t += Int64.random(in: 0..<2_000, using: &rng)
            }
        }
        return out
    }

    /// SPEC §3 by brute force: every start against every enqueue of its job.
    static func oracle(_ events: [Event]) -> [JobKey: [Int64]] {
        var out: [JobKey: [Int64]] = [:]
        var seen = Set<String>()
        for s in events where s.jobEvent == .started {
            // Two identical starts are one fact.
            guard seen.insert("\(s.jobID!)/\(s.timestampMs)/\(s.queue!)/\(s.job!)").inserted else { continue }
            let enqueues = events.filter { $0.jobEvent == .enqueued && $0.jobID == s.jobID && $0.timestampMs <= s.timestampMs }
            guard let latest = enqueues.map(\.timestampMs).max() else { continue }
            out[JobKey(service: s.service, queue: s.queue!, job: s.job!), default: []].append(s.timestampMs - latest)
        }
        return out
    }

    static func facts(_ events: [Event]) -> [JobFact] {
        let batch = BatchAggregate(events: events, rules: .init())
        return Array(batch.hot.jobFacts).sorted { $0.timestampMs < $1.timestampMs }
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func anyArrivalOrderAndBatchingGivesTheOracle(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var events = Self.lifecycles(jobs: 300, rng: &rng)
        events.shuffle(using: &rng)
        // A store's view: the facts it holds, the samples added and retracted so far.
        var held: [JobIdentity: [JobFact]] = [:]
        var added: [QueueWaitPairing.Sample: Int] = [:]
        var i = 0
        while i < events.count {
            let n = Int.random(in: 1...40, using: &rng)
            let batch = Array(events[i..<min(i + n, events.count)])
            i += n
            // Every batch goes in twice: a replay or a retried flush must change nothing the second time.
            for _ in 0..<2 {
                let changes = QueueWaitPairing.changes(of: Self.facts(batch)) { held[$0] ?? [] }
                for s in changes.added { added[s, default: 0] += 1 }
                for s in changes.retracted { added[s, default: 0] -= 1 }
                for f in changes.newFacts { held[f.identity, default: []].append(f) }
            }
        }
        #expect(added.values.allSatisfy { $0 == 0 || $0 == 1 }, "a sample added twice, or retracted without being added")
        var got: [JobKey: [Int64]] = [:]
        for (s, n) in added where n == 1 { got[s.key, default: []].append(s.waitMs) }
        let want = Self.oracle(events)
        #expect(got.mapValues { $0.sorted() } == want.mapValues { $0.sorted() })
        #expect(want.values.reduce(0) { $0 + $1.count } > 300, "the corpus pairs a good share of its starts")
    }

    @Test func aLateEnqueueMovesTheWaitOfItsRetriedStart() {
        func fact(_ kind: JobFact.Kind, _ ts: Int64) -> JobFact {
            kind == .enqueued
                ? .enqueued(service: "w", jobID: "1", timestampMs: ts)
                : .started(service: "w", jobID: "1", timestampMs: ts, queue: "q", job: "j")
        }
        // The retry's start (9 000) arrives before the retry's enqueue (7 000): paired with the first enqueue (1 000)
        // at first, then moved.
        let first = QueueWaitPairing.changes(existing: [], adding: [fact(.enqueued, 1_000), fact(.started, 9_000)])
        #expect(first.added.map(\.waitMs) == [8_000])
        let late = QueueWaitPairing.changes(
            existing: first.newFacts, adding: [fact(.enqueued, 7_000), fact(.started, 2_000)])
        #expect(Set(late.added.map(\.waitMs)) == [2_000, 1_000])
        #expect(late.retracted.map(\.waitMs) == [8_000])
        var stats = JobStats()
        var delta = Delta()
        delta.addWaits(first, widthMs: 10_000)
        delta.addWaits(late, widthMs: 10_000)
        for v in delta.jobs.values { stats.merge(v) }
        #expect(stats.queueWait.count == 2)
        #expect(stats.wait.count == 3 && stats.waitRetracted.count == 1)
    }

    @Test func aStartCarryingItsWaitIsTakenAsIsAndNotPaired() throws {
        let decoder = EventDecoder(configuration: .init(maxAgeMs: .max / 4))
        func decode(_ line: String) throws -> Event {
            try Array(line.utf8).withUnsafeBytes { try decoder.decode($0, nowMs: Self.base) }
        }
        let lines = [
            #"{"ts":1795000001000,"service":"w","kind":"job","queue":"q","job":"j","job_id":"5","event":"enqueued"}"#,
            #"{"ts":1795000009000,"service":"w","kind":"job","queue":"q","job":"j","job_id":"5","event":"started","wait_ms":250.5}"#,
        ]
        let events = try lines.map(decode)
        #expect(events[1].waitMs == 250.5)
        let batch = BatchAggregate(events: events, rules: .init())
        #expect(batch.hot.jobFacts.count == 1, "only the enqueue is a fact")
        let stats = try #require(batch.hot.jobs.values.first { $0.wait.count > 0 })
        let wait = try #require(stats.wait.quantile(0.5))
        #expect(abs(wait - 250.5) / 250.5 <= 0.01)
        // The WAL keeps it.
        let decoded = try EventCodec.encode(events).withUnsafeBytes { try EventCodec.decode($0) }
        #expect(decoded == events)
        // A wait on another step, or a bad one, is not a wait sample.
        let other = try decode(#"{"service":"w","kind":"job","queue":"q","job":"j","job_id":"5","event":"enqueued","wait_ms":3}"#)
        #expect(other.waitMs == nil)
        #expect(throws: EventDecodingError.self) {
            try decode(#"{"service":"w","kind":"job","queue":"q","job":"j","job_id":"5","event":"started","wait_ms":-1}"#)
        }
    }

    /// Shuffled job events split at random between two collectors that share the stores (in memory here; the
    /// end-to-end test runs the real binary on Redis and PostgreSQL): the wait count and quantiles in both stores
    /// equal the oracle's, after a crash and replay of one collector too.
    @Test(arguments: [7, 8] as [UInt64])
    func twoCollectorsSharingTheStoresPairEveryWait(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        var events = Self.lifecycles(jobs: 200, rng: &rng)
        events.shuffle(using: &rng)
        let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
        let dirs = [temporaryDirectory(), temporaryDirectory()]
        defer { for d in dirs { try? FileManager.default.removeItem(atPath: d) } }
        let logger = Logger(label: "test")
        func open(_ dir: String) async throws -> (CollectorRuntime, Flusher) {
            let runtime = try await CollectorRuntime.open(
                wal: .init(directory: dir), ingest: .init(decoder: .init(maxAgeMs: .max / 4)), hot: hot,
                durable: durable, logger: logger)
            let flusher = Flusher(
                aggregator: runtime.aggregator, wal: runtime.wal, hot: hot, durable: durable,
                collectorID: runtime.collectorID, status: runtime.status, logger: logger)
            return (runtime, flusher)
        }
        var collectors = [try await open(dirs[0]), try await open(dirs[1])]
        var i = 0
        var crashed = false
        while i < events.count {
            let n = Int.random(in: 1...30, using: &rng)
            let batch = Array(events[i..<min(i + n, events.count)])
            i += n
            let c = Int.random(in: 0..<2, using: &rng)
            #expect(try await collectors[c].0.pipeline.ingest(ndjson(batch), nowMs: Self.base + 10_000_000).accepted == batch.count)
            if Bool.random(using: &rng) { _ = await collectors[c].1.flushNow() }
            if !crashed && i > events.count / 2 {
                // Collector 1 dies with unflushed data and comes back on the same log.
                crashed = true
                collectors[1].0.commitLog.shutdown()
                collectors[1].0.wal.close()
                collectors[1] = try await open(dirs[1])
            }
        }
        for (_, flusher) in collectors { #expect(await flusher.flushNow()) }
        for (runtime, _) in collectors { runtime.commitLog.shutdown() }

        let want = Self.oracle(events)
        for store in [hot, durable] {
            let got = try await store.read(service: nil, buckets: Int64.min...Int64.max)
            for (key, waits) in want {
                var exact = LogSketch()
                for w in waits { exact.add(Double(w)) }
                let stats = try #require(got.jobs[key])
                #expect(stats.queueWait == exact, "\(key.queue): the wait sketch equals the sketch of the oracle's samples")
                #expect(stats.queueWait.count == UInt64(waits.count))
                let sorted = waits.sorted()
                for q in [0.5, 0.95, 0.99] {
                    let exactQ = Double(sorted[Int((q * Double(sorted.count - 1)).rounded(.down))])
                    let reported = try #require(stats.queueWait.quantile(q))
                    #expect(abs(reported - exactQ) <= 0.01 * exactQ, "p\(q * 100) \(reported) vs \(exactQ)")
                }
            }
        }
    }
}
