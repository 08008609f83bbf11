import Logging
import OpsightMetrics
import ServiceLifecycle

/// Claims queued assessments and runs their AI call, retrying failures with exponential backoff.
///
/// Every lifecycle step goes to the emitter as a `kind: job` event (queue `assessments`, job `ai_call`,
/// `job_id` = the assessment id) and to ``JobCounters``. A retry is a new `queued` row state with a later
/// `run_after`, so backoff never holds a worker. On graceful shutdown the attempt in hand is finished first.
public struct AssessmentWorker: Service {
    /// The queue name in job events.
    public static let queue = "assessments"
    /// The job type in job events.
    public static let job = "ai_call"

    /// Concurrency and retry settings.
    public struct Configuration: Sendable {
        /// Jobs run at once by this worker (each a claim loop).
        public var concurrency: Int
        /// Attempts before a job is failed for good.
        public var maxAttempts: Int
        /// The first retry's delay; doubled for each later one.
        public var baseBackoff: Duration
        /// The longest retry delay.
        public var maxBackoff: Duration
        /// How long an idle loop waits before claiming again.
        public var pollInterval: Duration
        /// The worker's name in `claimed_by`.
        public var name: String
        /// How long a running attempt may take before its job is presumed orphaned and claimed again.
        public var staleAfter: Duration

        /// Creates a configuration; every parameter has a default.
        public init(
            concurrency: Int = 4,
            maxAttempts: Int = 3,
            baseBackoff: Duration = .milliseconds(500),
            maxBackoff: Duration = .seconds(30),
            pollInterval: Duration = .milliseconds(100),
            name: String = "worker",
            staleAfter: Duration = .seconds(600)
        ) {
            self.concurrency = max(concurrency, 1)
            self.maxAttempts = max(maxAttempts, 1)
            self.baseBackoff = baseBackoff
            self.maxBackoff = maxBackoff
            self.pollInterval = pollInterval
            self.name = name
            self.staleAfter = staleAfter
        }

        /// The delay before retrying after failed attempt `attempt` (1-based): base × 2^(attempt−1), capped.
        public func backoff(afterAttempt attempt: Int) -> Duration {
            let factor = 1 << min(max(attempt - 1, 0), 30)
            let delay = baseBackoff * factor
            return delay < maxBackoff ? delay : maxBackoff
        }
    }

    /// Settings.
    public let configuration: Configuration
    /// The queue.
    public let store: AssessmentStore
    /// The AI step.
    public let assessor: any Assessor
    /// Where job events go.
    public let emitter: OpsightEmitter
    /// The service's own job counts.
    public let counters: JobCounters
    /// Logs claim and database failures.
    public let logger: Logger

    /// Creates a worker.
    public init(
        configuration: Configuration = .init(),
        store: AssessmentStore,
        assessor: any Assessor,
        emitter: OpsightEmitter,
        counters: JobCounters,
        logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.assessor = assessor
        self.emitter = emitter
        self.counters = counters
        self.logger = logger
    }

    /// Runs `concurrency` claim loops until graceful shutdown or cancellation.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for slot in 0..<configuration.concurrency {
                group.addTask { await self.loop(name: "\(self.configuration.name)-\(slot)") }
            }
        }
    }

    /// One claim loop.
    func loop(name: String) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if try await runOne(worker: name) { continue }
            } catch {
                if Task.isCancelled { return }
                logger.error("assessment worker failed", metadata: ["worker": "\(name)", "error": "\(error)"])
            }
            try? await Task.sleep(for: configuration.pollInterval)
        }
    }

    /// Claims and runs one job; `false` when none was claimable.
    public func runOne(worker: String) async throws -> Bool {
        guard let job = try await store.claim(worker: worker, staleAfter: configuration.staleAfter) else {
            return false
        }
        let jobID = job.id.uuidString.lowercased()
        // The user rides along so a job outcome can be a funnel step (the assessment journey's "completed").
        let who = job.userID
        // The queue wait as the queue row knows it (`wait_ms`): exact whichever collector gets which event.
        emitter.job(
            queue: Self.queue, job: Self.job, jobID: jobID, event: .started, wait: job.queueWait,
            attempt: job.attempt, entity: who)
        counters.count(.started)
        let start = ContinuousClock.now
        let outcome: Result<String, any Error>
        do {
            outcome = .success(try await assessor.assess(job))
        } catch {
            outcome = .failure(error)
        }
        let duration = ContinuousClock.now - start
        switch outcome {
        case .success(let result):
            guard try await store.complete(job, resultJSON: result) else {
                // Reclaimed as stale meanwhile: the newer attempt owns the outcome.
                logger.warning("assessment attempt lost its claim; result discarded", metadata: ["job_id": "\(jobID)"])
                return true
            }
            emitter.job(
                queue: Self.queue, job: Self.job, jobID: jobID, event: .succeeded, duration: duration,
                attempt: job.attempt, entity: who)
            counters.count(.succeeded)
        case .failure(let error):
            let message = String(describing: error)
            emitter.job(
                queue: Self.queue, job: Self.job, jobID: jobID, event: .failed, duration: duration,
                attempt: job.attempt, entity: who, fields: ["error": .string(message)])
            counters.count(.failed)
            if job.attempt < configuration.maxAttempts {
                let delay = configuration.backoff(afterAttempt: job.attempt)
                try await store.reschedule(job, after: delay, error: message)
                emitter.job(queue: Self.queue, job: Self.job, jobID: jobID, event: .retried, attempt: job.attempt)
                counters.count(.retried)
                emitter.job(queue: Self.queue, job: Self.job, jobID: jobID, event: .enqueued, attempt: job.attempt + 1)
                counters.count(.enqueued)
                logger.warning(
                    "assessment attempt failed; retrying",
                    metadata: ["job_id": "\(jobID)", "attempt": "\(job.attempt)", "error": "\(message)"])
            } else {
                try await store.fail(job, error: message)
                logger.error(
                    "assessment failed for good",
                    metadata: ["job_id": "\(jobID)", "attempt": "\(job.attempt)", "error": "\(message)"])
            }
        }
        return true
    }
}
