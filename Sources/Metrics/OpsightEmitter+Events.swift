extension OpsightEmitter {
    /// Records a finished HTTP (or RPC) request.
    ///
    /// - Parameters:
    ///   - route: The route template (`/api/v1/assessments/:id`), not the raw path; `/` when empty.
    ///   - method: The HTTP method; the collector upper-cases it.
    ///   - status: The response status, 100…599 (the collector rejects others).
    ///   - duration: Time from request to response; negative durations are written as 0.
    ///   - requestID: The request's id, kept with the raw event.
    ///   - fields: Extra fields kept with the raw event.
    public func request(
        route: String,
        method: String,
        status: Int,
        duration: Duration,
        requestID: String? = nil,
        fields: [String: FieldValue] = [:]
    ) {
        enqueue(
            .request(
                route: route, method: method, status: status, durationMs: Self.milliseconds(duration),
                requestID: requestID),
            fields: fields
        )
    }

    /// Records a lifecycle step of a background job.
    ///
    /// - Parameters:
    ///   - queue: The queue name.
    ///   - job: The job type.
    ///   - jobID: The id shared by all steps of one job run (the collector pairs `enqueued`/`started` by it).
    ///   - event: The lifecycle step.
    ///   - duration: Run time, for `succeeded` and `failed`.
    ///   - wait: For `started`: how long the job waited in its queue, when the service knows when it was enqueued
    ///     (for example from the queue row's enqueue time). Sent as `wait_ms`, it is the wait sample as is, so the
    ///     collector need not pair this start with its `enqueued` event.
    ///   - attempt: The attempt number, when known.
    ///   - entity: Who the job is for (a user or team id), so its outcome can be a funnel step.
    ///   - fields: Extra fields kept with the raw event.
    public func job(
        queue: String,
        job: String,
        jobID: String,
        event: JobEventType,
        duration: Duration? = nil,
        wait: Duration? = nil,
        attempt: Int? = nil,
        entity: String? = nil,
        fields: [String: FieldValue] = [:]
    ) {
        enqueue(
            .job(
                queue: queue, job: job, jobID: jobID, event: event, durationMs: duration.map(Self.milliseconds),
                attempt: attempt, entity: entity, waitMs: event == .started ? wait.map(Self.milliseconds) : nil),
            fields: fields
        )
    }

    /// Records a named business event performed by an entity; funnels are built from these.
    ///
    /// - Parameters:
    ///   - event: The event name (`signup_completed`).
    ///   - entity: Who did it: a user or team id.
    ///   - fields: Extra fields kept with the raw event.
    public func funnel(event: String, entity: String, fields: [String: FieldValue] = [:]) {
        enqueue(.funnel(event: event, entity: entity), fields: fields)
    }

    /// Records a log line.
    ///
    /// - Parameters:
    ///   - level: The severity.
    ///   - message: The message.
    ///   - fields: Extra fields (metadata) kept with the raw event; schema names get a leading `_`.
    public func log(level: LogLevel, message: String, fields: [String: FieldValue] = [:]) {
        enqueue(.log(level: level, message: message), fields: fields)
    }

    /// A duration in milliseconds as written in `duration_ms`.
    public static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
