extension EventDecoder {
    /// Builds the event from the fields of a fully validated line, enforcing SPEC §3/§4 field rules.
    ///
    /// Checks run in a fixed order (service, timestamp, kind, then the kind's fields) so a line with
    /// several problems always reports the same one.
    func makeEvent(_ reader: FieldReader, nowMs: Int64) throws(EventDecodingError) -> Event {
        let service = try serviceName(reader)
        let timestampMs = try timestamp(reader, nowMs: nowMs)
        let kind = try eventKind(reader)
        if kind == .request {
            // Most events: made in one go from its fields. Filled in place through `inout` across the throwing
            // calls, the event was copied and destroyed on the way (value witness copies and string retains and
            // releases, ~10 % of decoding in perf of Benchmarks/ingest_bench.sh; this took decoding ~5 % lower).
            let r = try requestFields(reader)
            return Event(
                timestampMs: timestampMs, service: service, kind: .request, route: r.route, method: r.method,
                status: r.status, durationMs: r.durationMs, entity: optionalEntity(reader, for: .request))
        }
        var event = Event(timestampMs: timestampMs, service: service, kind: kind)
        switch kind {
        case .request: break
        case .job: try fillJob(&event, reader)
        case .event: try fillNamedEvent(&event, reader)
        case .log: try fillLog(&event, reader)
        }
        if kind != .event { event.entity = optionalEntity(reader, for: kind) }
        return event
    }

    /// A request's or job's `entity`. Either may name who it was for, so it can be a funnel step (SPEC §5 matchers).
    /// For these kinds `entity` was always an optional free field, so a value that is no identifier is left unused
    /// rather than rejecting the line (nor is one that fails the identity rules stored).
    private func optionalEntity(_ reader: FieldReader, for kind: EventKind) -> String? {
        guard reader.has(.entity) else { return nil }
        return try? reader.requiredIdentifier(.entity, "entity", for: kind, integerOnly: false)
    }

    /// The required `service`: a string of 1–128 characters.
    private func serviceName(_ reader: FieldReader) throws(EventDecodingError) -> String {
        guard let value = reader.value(.service) else { throw EventDecodingError(field: "service", reason: "missing") }
        guard value.kind == .string, value.end > value.start else {
            throw reader.error(.service, "expected non-empty string")
        }
        let service = reader.identityString(value)
        // Byte length bounds the character count, so counting characters is only needed for long names.
        if service.utf8.count > 128 && service.count > 128 {
            throw reader.error(.service, "longer than 128 characters")
        }
        return try reader.identity(.service, service)
    }

    /// The event time: `ts` (or an alias) when present, else arrival time; within the accepted age.
    private func timestamp(_ reader: FieldReader, nowMs: Int64) throws(EventDecodingError) -> Int64 {
        guard let value = reader.value(.ts) else { return nowMs }
        let parsed: Int64?
        switch value.kind {
        case .string: parsed = reader.withBytes(value) { Timestamp.parseRFC3339($0) }
        case .number: parsed = Timestamp.fromEpoch(reader.scanner.bytes(of: value))
        default: parsed = nil
        }
        guard let ms = parsed else {
            throw reader.error(.ts, "expected RFC 3339 string (2024-05-01T12:00:00Z) or epoch number")
        }
        if ms > nowMs &+ configuration.maxFutureMs {
            throw reader.error(.ts, "more than \(Self.describe(ms: configuration.maxFutureMs)) in the future")
        }
        if ms < nowMs &- configuration.maxAgeMs {
            throw reader.error(.ts, "older than the maximum age of \(Self.describe(ms: configuration.maxAgeMs))")
        }
        return ms
    }

    /// The explicit `kind`, or the kind inferred from which fields are present (SPEC §3).
    private func eventKind(_ reader: FieldReader) throws(EventDecodingError) -> EventKind {
        if let value = reader.value(.kind) {
            guard value.kind == .string else { throw reader.error(.kind, "expected one of request, job, event, log") }
            if reader.equals(value, "request") { return .request }
            if reader.equals(value, "job") { return .job }
            if reader.equals(value, "event") { return .event }
            if reader.equals(value, "log") { return .log }
            throw reader.error(.kind, "expected one of request, job, event, log")
        }
        if reader.has(.status) && reader.has(.duration) { return .request }
        if reader.has(.jobID) && reader.has(.event) { return .job }
        if reader.has(.event) && reader.has(.entity) { return .event }
        return .log
    }

    /// Request fields: status, duration, route (or normalised path), method.
    private func requestFields(
        _ reader: FieldReader
    ) throws(EventDecodingError) -> (status: Int, durationMs: Double, route: String, method: String) {
        guard let statusValue = reader.value(.status) else { throw reader.missing("status", for: .request) }
        guard let status = reader.scanner.integer(statusValue) else { throw reader.error(.status, "expected integer") }
        guard (100...599).contains(status) else { throw reader.error(.status, "expected integer 100..599") }
        guard let duration = try reader.duration() else { throw reader.missing("duration_ms", for: .request) }
        return (status, duration, try route(reader), try method(reader))
    }

    /// The route template: `route` when non-empty, else `path` normalised; an identity field.
    private func route(_ reader: FieldReader) throws(EventDecodingError) -> String {
        if let value = reader.value(.route) {
            guard value.kind == .string else { throw reader.error(.route, "expected string") }
            if value.end > value.start { return try reader.identity(.route, reader.identityString(value)) }
        }
        if let value = reader.value(.path) {
            guard value.kind == .string else { throw reader.error(.path, "expected string") }
            return try reader.identity(.path, reader.withBytes(value) { RouteNormalizer.normalize($0) })
        }
        throw EventDecodingError(field: "route", reason: "missing (route or path required for kind request)")
    }

    /// The method upper-cased, `"ANY"` when absent or empty; an identity field.
    private func method(_ reader: FieldReader) throws(EventDecodingError) -> String {
        guard let value = reader.value(.method) else { return "ANY" }
        guard value.kind == .string else { throw reader.error(.method, "expected string") }
        guard value.end > value.start else { return "ANY" }
        let method = reader.withBytes(value) { bytes in
            guard bytes.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) else {
                return String(decoding: bytes, as: UTF8.self)
            }
            return String(unsafeUninitializedCapacity: bytes.count) { out in
                for (i, b) in bytes.enumerated() {
                    out[i] = b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") ? b - 0x20 : b
                }
                return bytes.count
            }
        }
        return try reader.identity(.method, method)
    }

    /// Job fields: queue, job, job_id, lifecycle event, optional duration, attempt and (on `started`) wait.
    private func fillJob(_ event: inout Event, _ reader: FieldReader) throws(EventDecodingError) {
        event.queue = try reader.requiredString(.queue, "queue", for: .job)
        event.job = try reader.requiredString(.job, "job", for: .job)
        event.jobID = try reader.requiredIdentifier(.jobID, "job_id", for: .job, integerOnly: true)
        guard let value = reader.value(.event) else { throw reader.missing("event", for: .job) }
        let type = value.kind == .string ? JobEventType.allCases.first { reader.equals(value, $0.staticName) } : nil
        guard let type else {
            throw reader.error(.event, "expected one of enqueued, started, succeeded, failed, retried")
        }
        event.jobEvent = type
        event.durationMs = try reader.duration()
        if let attempt = reader.value(.attempt) {
            guard let number = reader.scanner.integer(attempt), number >= 0 else {
                throw reader.error(.attempt, "expected integer >= 0")
            }
            event.attempt = number
        }
        // SPEC §3: a start may carry its wait; it wins over pairing with an `enqueued`. Other steps have none.
        if type == .started, let value = reader.value(.wait) {
            let ms = value.kind == .number ? reader.scanner.double(value) : .nan
            guard ms.isFinite, ms >= 0 else { throw reader.error(.wait, "expected number >= 0") }
            event.waitMs = ms
        }
    }

    /// Named-event fields: the event name and the entity.
    private func fillNamedEvent(_ event: inout Event, _ reader: FieldReader) throws(EventDecodingError) {
        event.name = try reader.requiredString(.event, "event", for: .event)
        event.entity = try reader.requiredIdentifier(.entity, "entity", for: .event, integerOnly: false)
    }

    /// Log fields: level (default info) and message.
    private func fillLog(_ event: inout Event, _ reader: FieldReader) throws(EventDecodingError) {
        var level = LogLevel.info
        if let value = reader.value(.level) {
            let parsed: LogLevel?
            switch value.kind {
            case .string: parsed = LogLevel(parsing: reader.scanner.string(value))
            case .number: parsed = reader.scanner.integer(value).flatMap { LogLevel(numeric: $0) }
            default: parsed = nil
            }
            guard let parsed else { throw reader.error(.level, "expected one of debug, info, warn, error, fatal") }
            level = parsed
        }
        event.level = level
        event.message = try reader.optionalString(.msg)
    }

    /// A limit for error texts: `5 min`, `24 h`, `90 s` or `1500 ms`.
    static func describe(ms: Int64) -> String {
        if ms > 0 && ms % 3_600_000 == 0 { return "\(ms / 3_600_000) h" }
        if ms > 0 && ms % 60_000 == 0 { return "\(ms / 60_000) min" }
        if ms % 1000 == 0 { return "\(ms / 1000) s" }
        return "\(ms) ms"
    }
}

extension JobEventType {
    /// The schema spelling as a static string, for byte comparisons without allocating.
    var staticName: StaticString {
        switch self {
        case .enqueued: "enqueued"
        case .started: "started"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .retried: "retried"
        }
    }
}
