import AssessmentCore
import Foundation
import Logging
import OpsightMetrics
import PostgresNIO
import PostgresURL
import Synchronization
import Testing

private let env = ProcessInfo.processInfo.environment

@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct WorkerQueueTests {
    @Test func twoWorkersRunEveryAttemptExactlyOnceAndRetryFailures() async throws {
        try await withStore { store in
            let jobCount = 40
            var ids: [UUID] = []
            for n in 0..<jobCount {
                let document = try await store.insertDocument(userID: "u\(n)", title: "t", content: "words \(n)")
                ids.append(
                    try await store.enqueueAssessment(documentID: document, userID: "u\(n)", frameworks: ["soc2"]))
            }
            // Every fourth job's first attempt fails.
            let failFirst = Set(ids.enumerated().filter { $0.offset % 4 == 0 }.map(\.element))
            let assessor = RecordingAssessor(failOnAttempt: { job in failFirst.contains(job.id) && job.attempt == 1 })
            let counters = JobCounters()
            let emitter = OpsightEmitter(service: "assessment-test", transport: DiscardingTransport())
            let backoff = Duration.milliseconds(200)
            let workers = ["w1", "w2"].map { name in
                AssessmentWorker(
                    configuration: .init(
                        concurrency: 3, maxAttempts: 3, baseBackoff: backoff, pollInterval: .milliseconds(20),
                        name: name),
                    store: store, assessor: assessor, emitter: emitter, counters: counters, logger: Logger(label: name))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in workers { group.addTask { try await worker.run() } }
                try await waitUntil(timeout: .seconds(60)) {
                    try await store.stateCounts()["succeeded"] == jobCount
                }
                group.cancelAll()
            }

            let calls = assessor.calls
            // No attempt of any job was handed to two workers: each (job, attempt) was assessed once.
            let perAttempt = Dictionary(grouping: calls, by: { "\($0.id) \($0.attempt)" })
            #expect(perAttempt.values.allSatisfy { $0.count == 1 })
            // Failed first attempts were retried once; the others ran once.
            let attemptsByJob = Dictionary(grouping: calls, by: \.id).mapValues { $0.map(\.attempt).sorted() }
            for id in ids {
                #expect(attemptsByJob[id] == (failFirst.contains(id) ? [1, 2] : [1]), "job \(id)")
                let record = try #require(try await store.assessment(id))
                #expect(record.state == .succeeded)
                #expect(record.attempts == (failFirst.contains(id) ? 2 : 1))
                // PostgreSQL normalises JSONB text to `{"attempt": n}`.
                #expect(record.resultJSON == "{\"attempt\": \(record.attempts)}")
            }
            // The retry waited for its backoff.
            for id in failFirst {
                let first = try #require(calls.first { $0.id == id && $0.attempt == 1 })
                let second = try #require(calls.first { $0.id == id && $0.attempt == 2 })
                #expect(second.start - first.end >= backoff - .milliseconds(20))
            }
            // Both workers took part.
            #expect(Set(calls.map { String($0.worker.prefix(2)) }) == ["w1", "w2"])
            let f = failFirst.count
            #expect(
                counters.snapshot
                    == JobCountsSnapshot(enqueued: f, started: jobCount + f, succeeded: jobCount, failed: f, retried: f)
            )
            // started + succeeded + failed + retried + the retries' enqueued, all through the emitter.
            #expect(emitter.statistics.emitted == (jobCount + f) + jobCount + f + f + f)
        }
    }

    @Test func aJobFailingEveryAttemptFailsForGoodAfterMaxAttempts() async throws {
        try await withStore { store in
            let document = try await store.insertDocument(userID: "u", title: "t", content: "c")
            let id = try await store.enqueueAssessment(documentID: document, userID: "u", frameworks: ["gdpr"])
            let assessor = RecordingAssessor(failOnAttempt: { _ in true })
            let counters = JobCounters()
            let worker = AssessmentWorker(
                configuration: .init(concurrency: 1, maxAttempts: 3, baseBackoff: .milliseconds(10), name: "w"),
                store: store, assessor: assessor,
                emitter: OpsightEmitter(service: "assessment-test", transport: DiscardingTransport()),
                counters: counters, logger: Logger(label: "w"))
            var ran = 0
            try await waitUntil(timeout: .seconds(30)) {
                if try await worker.runOne(worker: "w") { ran += 1 }
                return try await store.assessment(id)?.state == .failed
            }
            let record = try #require(try await store.assessment(id))
            #expect(ran == 3)
            #expect(record.attempts == 3)
            #expect(record.error?.contains("injected") == true)
            #expect(assessor.calls.map(\.attempt) == [1, 2, 3])
            #expect(
                counters.snapshot == JobCountsSnapshot(enqueued: 2, started: 3, succeeded: 0, failed: 3, retried: 2))
            // Nothing is left to claim.
            #expect(try await worker.runOne(worker: "w") == false)
        }
    }

    /// Issue 14: the `started` event carries the queue wait the queue row measured (`wait_ms`): from the job's
    /// creation for the first attempt, from its rescheduling for a retry (so at least the backoff).
    @Test func startedEventsCarryTheQueueWaitOfTheirAttempt() async throws {
        try await withStore { store in
            let document = try await store.insertDocument(userID: "u", title: "t", content: "c")
            let enqueued = ContinuousClock.now
            let id = try await store.enqueueAssessment(documentID: document, userID: "u", frameworks: ["gdpr"])
            let idle = Duration.milliseconds(300)
            try await Task.sleep(for: idle)
            let backoff = Duration.milliseconds(400)
            let assessor = RecordingAssessor(failOnAttempt: { $0.attempt == 1 })
            let transport = CapturingTransport()
            let emitter = OpsightEmitter(service: "assessment-test", transport: transport)
            let loop = Task { await emitter.run() }
            let worker = AssessmentWorker(
                configuration: .init(concurrency: 1, maxAttempts: 2, baseBackoff: backoff, name: "w"),
                store: store, assessor: assessor, emitter: emitter, counters: JobCounters(), logger: Logger(label: "w"))
            #expect(try await worker.runOne(worker: "w"))
            try await waitUntil(timeout: .seconds(30)) { try await worker.runOne(worker: "w") }
            await emitter.flush()
            emitter.shutdown()
            await loop.value

            let calls = assessor.calls
            let starts = transport.events.filter { $0["event"] as? String == "started" }
            #expect(starts.count == 2)
            #expect(starts.allSatisfy { $0["job_id"] as? String == id.uuidString.lowercased() })
            let waits = starts.sorted { ($0["attempt"] as? Int ?? 0) < ($1["attempt"] as? Int ?? 0) }
                .map { ($0["wait_ms"] as? Double) ?? -1 }
            try #require(waits.count == 2 && calls.count == 2)
            func ms(_ d: Duration) -> Double {
                Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
            }
            // First attempt: created before `enqueued`'s end, claimed before its assessment began.
            #expect(waits[0] >= ms(idle) - 5)
            #expect(waits[0] <= ms(calls[0].start - enqueued) + 5)
            // Retry: waited at least its backoff, and at most from the first attempt's end to the second's start.
            #expect(waits[1] >= ms(backoff) - 5)
            #expect(waits[1] <= ms(calls[1].start - calls[0].end) + 5)
        }
    }

    @Test func anOrphanedRunningJobIsReclaimedAndTheOldAttemptsOutcomeIsRefused() async throws {
        try await withStore { store in
            let document = try await store.insertDocument(userID: "u", title: "t", content: "c")
            let id = try await store.enqueueAssessment(documentID: document, userID: "u", frameworks: ["gdpr"])
            // 5 s, not less: the two claims must fall inside it even when the suites share two busy cores.
            let stale = Duration.seconds(5)
            let first = try #require(try await store.claim(worker: "crashed", staleAfter: stale))
            // Not stale yet: nothing to claim.
            #expect(try await store.claim(worker: "other", staleAfter: stale) == nil)
            try await Task.sleep(for: stale + .milliseconds(300))
            let second = try #require(try await store.claim(worker: "other", staleAfter: stale))
            #expect(second.id == id && first.id == id)
            #expect((first.attempt, second.attempt) == (1, 2))
            #expect(try await store.complete(first, resultJSON: "{\"by\": 1}") == false)
            #expect(try await store.reschedule(first, after: .zero, error: "late") == false)
            #expect(try await store.complete(second, resultJSON: "{\"by\": 2}"))
            let record = try #require(try await store.assessment(id))
            #expect(record.state == .succeeded && record.attempts == 2 && record.resultJSON == "{\"by\": 2}")
        }
    }

    @Test(arguments: [(1, 100), (2, 200), (3, 400), (4, 800), (10, 1000)])
    func backoffDoublesPerAttemptUpToTheCap(attempt: Int, milliseconds: Int) {
        let configuration = AssessmentWorker.Configuration(baseBackoff: .milliseconds(100), maxBackoff: .seconds(1))
        #expect(configuration.backoff(afterAttempt: attempt) == .milliseconds(milliseconds))
    }
}

/// Runs `body` with a store in a fresh schema, dropped afterwards.
func withStore(_ body: (AssessmentStore) async throws -> Void) async throws {
    let logger = Logger(label: "test")
    let url = try PostgresURL(env["OPSIGHT_TEST_DATABASE_URL"]!)
    let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        let schema = "test_assess_\(UUID().uuidString.prefix(8).lowercased())"
        let store = try AssessmentStore(client: client, schema: schema, logger: logger)
        var failure: (any Error)?
        do {
            try await store.migrate()
            try await body(store)
        } catch { failure = error }
        _ = try? await client.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE", logger: logger)
        group.cancelAll()
        if let failure { throw failure }
    }
}

/// Polls `condition` every 50 ms until it holds; fails the test after `timeout`.
func waitUntil(timeout: Duration, _ condition: () async throws -> Bool) async throws {
    // One more look after the deadline: the loop may not have run for most of the time, queued for a thread of the
    // cooperative pool that synchronous suites held.
    let deadline = ContinuousClock.now + timeout
    while true {
        let late = ContinuousClock.now >= deadline
        if try await condition() { return }
        if late { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("condition not met within \(timeout)")
    throw CancellationError()
}

/// An assessor that records every call and fails the attempts `failOnAttempt` picks.
final class RecordingAssessor: Assessor {
    struct Call: Sendable {
        var id: UUID
        var attempt: Int
        var worker: String
        var start: ContinuousClock.Instant
        var end: ContinuousClock.Instant
    }
    private let recorded = Mutex<[Call]>([])
    private let failOnAttempt: @Sendable (ClaimedJob) -> Bool

    init(failOnAttempt: @escaping @Sendable (ClaimedJob) -> Bool) {
        self.failOnAttempt = failOnAttempt
    }

    var calls: [Call] { recorded.withLock { $0 } }

    func assess(_ job: ClaimedJob) async throws -> String {
        let start = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(Int.random(in: 1...15)))
        let end = ContinuousClock.now
        recorded.withLock {
            $0.append(Call(id: job.id, attempt: job.attempt, worker: job.claimedBy, start: start, end: end))
        }
        if failOnAttempt(job) { throw AssessmentError(.aiCallFailed, "injected failure") }
        return "{\"attempt\":\(job.attempt)}"
    }
}

/// A transport that accepts everything.
struct DiscardingTransport: Transport {
    func send(body: [UInt8], lineCount: Int) async throws -> TransportOutcome {
        .delivered(accepted: lineCount, rejected: 0)
    }
}
