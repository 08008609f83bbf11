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
        writer.member("service", Self.identity(service))
        switch payload {
        case .request(let route, let method, let status, let durationMs, let requestID):
            writer.member("kind", "request")
            writer.member("route", route.isEmpty ? "/" : Self.identity(route))
            writer.member("method", Self.identity(method))
            writer.member("status", status)
            writer.member("duration_ms", Self.validDuration(durationMs))
            if let requestID { writer.member("request_id", requestID) }
        case .job(let queue, let job, let jobID, let event, let durationMs, let attempt, let entity, let waitMs):
            writer.member("kind", "job")
            writer.member("queue", Self.identity(queue))
            writer.member("job", Self.identity(job))
            writer.member("job_id", Self.identity(jobID))
            writer.member("event", event.rawString)
            if let durationMs { writer.member("duration_ms", Self.validDuration(durationMs)) }
            if let attempt { writer.member("attempt", max(attempt, 0)) }
            if let entity { writer.member("entity", Self.identity(entity)) }
            // Only a start has a queue wait (SPEC §3); the collector reads `wait_ms` on `started` lines only.
            if let waitMs, event == .started { writer.member("wait_ms", Self.validDuration(waitMs)) }
        case .funnel(let event, let entity):
            writer.member("kind", "event")
            writer.member("event", Self.identity(event))
            writer.member("entity", Self.identity(entity))
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

    /// `text` as an identity field the collector accepts (SPEC §4): control characters (U+0000–U+001F, U+007F)
    /// become U+FFFD and the value is cut to 256 bytes on a scalar boundary. Names that already fit are
    /// returned as they are, without allocating.
    static func identity(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.count > maxIdentityBytes || utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
        var clean = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            clean.append(scalar.value < 0x20 || scalar.value == 0x7F ? "\u{FFFD}" : scalar)
        }
        return prefix(String(clean), maxBytes: maxIdentityBytes)
    }

    /// Longest identity field in bytes, as the collector's decoder checks it.
    static var maxIdentityBytes: Int { FieldReader.maxIdentityBytes }
}
