/// One `enqueued` or `started` event of a job run, kept as a fact so that its queue wait can be paired whichever
/// of the two arrives first, and on whichever collector (SPEC §3).
///
/// Like funnel step records, facts are a set: a replayed batch, a retried flush or the same event received twice
/// leave one fact, and the samples paired from a set do not depend on the order its facts came in.
public struct JobFact: Hashable, Sendable {
    /// Which lifecycle step.
    public enum Kind: UInt8, Sendable {
        case enqueued = 0
        case started = 1
    }

    public var kind: Kind
    public var service: String
    public var jobID: String
    /// When, unix milliseconds.
    public var timestampMs: Int64
    /// For a start, its queue and job type: the series its wait sample belongs to. Empty for an enqueue.
    public var queue: String
    public var job: String

    /// Creates the fact; ``enqueued(service:jobID:timestampMs:)`` and
    /// ``started(service:jobID:timestampMs:queue:job:)`` say it shorter.
    public init(kind: Kind, service: String, jobID: String, timestampMs: Int64, queue: String, job: String) {
        self.kind = kind
        self.service = service
        self.jobID = jobID
        self.timestampMs = timestampMs
        self.queue = queue
        self.job = job
    }

    /// An enqueue of `jobID` at `timestampMs`.
    public static func enqueued(service: String, jobID: String, timestampMs: Int64) -> JobFact {
        JobFact(kind: .enqueued, service: service, jobID: jobID, timestampMs: timestampMs, queue: "", job: "")
    }

    /// A start of `jobID` at `timestampMs`, in the series `queue`/`job`.
    public static func started(service: String, jobID: String, timestampMs: Int64, queue: String, job: String)
        -> JobFact
    {
        JobFact(kind: .started, service: service, jobID: jobID, timestampMs: timestampMs, queue: queue, job: job)
    }

    /// The job run the fact belongs to.
    public var identity: JobIdentity { JobIdentity(service: service, jobID: jobID) }

    /// A rough size in memory, for byte caps.
    var estimatedBytes: Int { 96 + service.utf8.count + jobID.utf8.count + queue.utf8.count + job.utf8.count }

    /// Hashes the run's id, the time and the step: facts that differ only in service, queue or job share a job id and
    /// a millisecond, which a service does not do to itself, and `==` still compares every field. A fact is hashed
    /// into the batch's set and again into both lanes' sets; hashing its four strings was ~2.5 % of the collector at
    /// full HTTP ingest with one job line in eleven (docs/benchmarks.md).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(jobID)
        hasher.combine(timestampMs)
        hasher.combine(kind)
    }
}

/// A job run across its lifecycle events: the service and the `job_id`.
public struct JobIdentity: Hashable, Sendable {
    public var service: String
    public var jobID: String
    /// Creates the identity.
    public init(service: String, jobID: String) {
        self.service = service
        self.jobID = jobID
    }
}
