/// One decoded event of schema v1 (SPEC §3).
///
/// Only the fields that belong to `kind` are filled by ``EventDecoder``; the others stay `nil`.
public struct Event: Sendable, Equatable {
    /// Event time in unix milliseconds (arrival time when the line had no timestamp).
    public var timestampMs: Int64
    /// The emitting service, 1–128 characters.
    public var service: String
    /// What the event describes.
    public var kind: EventKind
    /// Request: the route template, normalised from the path when only a path was given.
    public var route: String?
    /// Request: the HTTP method, upper-cased (`"ANY"` when the line had none).
    public var method: String?
    /// Request: the status code, 100…599.
    public var status: Int?
    /// Request or job: the duration in milliseconds, ≥ 0.
    public var durationMs: Double?
    /// Job: the queue name.
    public var queue: String?
    /// Job: the job type.
    public var job: String?
    /// Job: the id of this job run, shared by all its lifecycle events.
    public var jobID: String?
    /// Job: the lifecycle step.
    public var jobEvent: JobEventType?
    /// Job: the attempt number, when reported.
    public var attempt: Int?
    /// Job, `started` only: the queue wait in milliseconds as the emitter measured it (`wait_ms`); when present
    /// it is the wait sample, and the start is not paired with an `enqueued` event.
    public var waitMs: Double?
    /// Kind `event`: the event name (the line's `event` field).
    public var name: String?
    /// Kind `event`: who performed it (a user or team id).
    public var entity: String?
    /// Log: the severity.
    public var level: LogLevel?
    /// Log: the message.
    public var message: String?

    /// Creates an event; every field that does not apply to `kind` may be left out.
    public init(
        timestampMs: Int64,
        service: String,
        kind: EventKind,
        route: String? = nil,
        method: String? = nil,
        status: Int? = nil,
        durationMs: Double? = nil,
        queue: String? = nil,
        job: String? = nil,
        jobID: String? = nil,
        jobEvent: JobEventType? = nil,
        attempt: Int? = nil,
        waitMs: Double? = nil,
        name: String? = nil,
        entity: String? = nil,
        level: LogLevel? = nil,
        message: String? = nil
    ) {
        self.timestampMs = timestampMs
        self.service = service
        self.kind = kind
        self.route = route
        self.method = method
        self.status = status
        self.durationMs = durationMs
        self.queue = queue
        self.job = job
        self.jobID = jobID
        self.jobEvent = jobEvent
        self.attempt = attempt
        self.waitMs = waitMs
        self.name = name
        self.entity = entity
        self.level = level
        self.message = message
    }
}
