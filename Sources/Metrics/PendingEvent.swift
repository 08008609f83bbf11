/// An event accepted by ``OpsightEmitter`` and waiting in its buffer to be encoded and sent.
///
/// Emitting stores this record as is; encoding to JSON happens later, off the caller's path, on the
/// emitter's `run()` loop. So an emit call costs a clock read, a lock and a few reference-count increments.
struct PendingEvent: Sendable {
    /// What is specific to the event's kind.
    enum Payload: Sendable {
        /// A request: route template, method, status, duration in milliseconds, request id.
        case request(route: String, method: String, status: Int, durationMs: Double, requestID: String?)
        /// A job lifecycle step.
        case job(
            queue: String, job: String, jobID: String, event: JobEventType, durationMs: Double?, attempt: Int?,
            entity: String?, waitMs: Double? = nil)
        /// A named business event performed by an entity (funnels).
        case funnel(event: String, entity: String)
        /// A log line with its level and message.
        case log(level: LogLevel, message: String)
    }

    /// Event time in unix milliseconds.
    var timestampMs: Int64
    /// The kind-specific fields.
    var payload: Payload
    /// Extra fields, written after the schema fields (an empty dictionary does not allocate).
    var fields: [String: FieldValue]

    /// A rough size of the encoded line, for byte-based batching without encoding on the caller's path.
    var estimatedBytes: Int {
        var size = 96
        switch payload {
        case .request(let route, let method, _, _, let requestID):
            size += 48 + route.utf8.count + method.utf8.count + (requestID?.utf8.count ?? 0)
        case .job(let queue, let job, let jobID, _, _, _, let entity, _):
            size += 64 + queue.utf8.count + job.utf8.count + jobID.utf8.count + (entity?.utf8.count ?? 0)
        case .funnel(let event, let entity):
            size += 24 + event.utf8.count + entity.utf8.count
        case .log(_, let message):
            size += 24 + message.utf8.count
        }
        if !fields.isEmpty { size += fields.count * 24 }
        return size
    }
}
