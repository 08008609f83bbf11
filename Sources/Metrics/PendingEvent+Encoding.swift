extension PendingEvent {
    /// Every key the collector's decoder reads as a schema field, canonical names and default aliases.
    ///
    /// An extra field with one of these names would change how the line decodes (a `msg` in log
    /// metadata would replace the message), so such fields are written with a leading `_`.
    static let reservedKeys: Set<String> = Set(FieldKey.defaults.map(\.name))

    /// Appends the event as one schema-v1 JSON line (with its newline) for `service`.
    func encode(service: String, into writer: inout JSONLineWriter) {
        writer.beginObject()
        writer.key("ts")
        writer.bytes.append(UInt8(ascii: "\""))
        Timestamp.appendRFC3339(timestampMs, to: &writer.bytes)
        writer.bytes.append(UInt8(ascii: "\""))
        writer.member("service", service)
        switch payload {
        case .request(let route, let method, let status, let durationMs, let requestID):
            writer.member("kind", "request")
            writer.member("route", route.isEmpty ? "/" : route)
            writer.member("method", method)
            writer.member("status", status)
            writer.member("duration_ms", Self.validDuration(durationMs))
            if let requestID { writer.member("request_id", requestID) }
        case .job(let queue, let job, let jobID, let event, let durationMs, let attempt, let entity):
            writer.member("kind", "job")
            writer.member("queue", queue)
            writer.member("job", job)
            writer.member("job_id", jobID)
            writer.member("event", event.rawString)
            if let durationMs { writer.member("duration_ms", Self.validDuration(durationMs)) }
            if let attempt { writer.member("attempt", max(attempt, 0)) }
            if let entity { writer.member("entity", entity) }
        case .funnel(let event, let entity):
            writer.member("kind", "event")
            writer.member("event", event)
            writer.member("entity", entity)
        case .log(let level, let message):
            writer.member("kind", "log")
            writer.member("level", level.rawString)
            writer.member("msg", message)
        }
        for (name, value) in fields {
            writer.key(Self.reservedKeys.contains(name) ? "_" + name : name)
            writer.value(value)
        }
        writer.endObject()
    }

    /// A duration the collector accepts: finite and ≥ 0 (a negative or NaN duration becomes 0).
    static func validDuration(_ ms: Double) -> Double {
        ms.isFinite && ms > 0 ? ms : 0
    }
}
