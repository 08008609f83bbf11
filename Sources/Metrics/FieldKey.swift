/// What a JSON key of an event line means to the decoder: the field it fills and how its value is read.
struct FieldKey: Sendable {
    /// The schema fields the decoder extracts; every other key is skipped.
    enum Field: Int, CaseIterable {
        case ts, service, kind, route, path, method, status, duration, queue, job, jobID, event, attempt, entity,
            level, msg, wait

        /// The number of fields, for sizing per-line slot storage without building `allCases`.
        static let count = 17
    }

    /// How a duration key's value is converted to milliseconds.
    enum DurationUnit: UInt8 {
        /// A number of milliseconds (`duration_ms`, `latency_ms`, `elapsed_ms`).
        case milliseconds
        /// A number of seconds (`duration_s`).
        case seconds
        /// A Go-style duration string such as `"1m30s"`, or a number of milliseconds (`duration`).
        case goDuration
    }

    /// The key as spelled in lines; used to name the field in errors.
    var name: String
    /// The field the key fills.
    var field: Field
    /// Duration keys: the unit of the value.
    var unit: DurationUnit = .milliseconds
    /// Lower wins when several keys for one field are present: canonical names are 0, aliases higher.
    var priority: UInt8 = 0

    /// The keys understood without configuration: canonical names and the default aliases of SPEC §3.
    static let defaults: [FieldKey] = [
        FieldKey(name: "ts", field: .ts),
        FieldKey(name: "timestamp", field: .ts, priority: 1),
        FieldKey(name: "time", field: .ts, priority: 1),
        FieldKey(name: "@timestamp", field: .ts, priority: 1),
        FieldKey(name: "service", field: .service),
        FieldKey(name: "kind", field: .kind),
        FieldKey(name: "route", field: .route),
        FieldKey(name: "path", field: .path),
        FieldKey(name: "method", field: .method),
        FieldKey(name: "status", field: .status),
        FieldKey(name: "status_code", field: .status, priority: 1),
        FieldKey(name: "http_status", field: .status, priority: 1),
        FieldKey(name: "duration_ms", field: .duration),
        FieldKey(name: "latency_ms", field: .duration, priority: 1),
        FieldKey(name: "elapsed_ms", field: .duration, priority: 1),
        FieldKey(name: "duration_s", field: .duration, unit: .seconds, priority: 2),
        FieldKey(name: "duration", field: .duration, unit: .goDuration, priority: 3),
        FieldKey(name: "queue", field: .queue),
        FieldKey(name: "job", field: .job),
        FieldKey(name: "job_id", field: .jobID),
        FieldKey(name: "event", field: .event),
        FieldKey(name: "attempt", field: .attempt),
        FieldKey(name: "wait_ms", field: .wait),
        FieldKey(name: "entity", field: .entity),
        FieldKey(name: "level", field: .level),
        FieldKey(name: "severity", field: .level, priority: 1),
        FieldKey(name: "lvl", field: .level, priority: 1),
        FieldKey(name: "msg", field: .msg),
        FieldKey(name: "message", field: .msg, priority: 1),
    ]

    /// The key `name` standing for the same field as `target`, as an alias (never beating the canonical name).
    func alias(named name: String) -> FieldKey {
        FieldKey(name: name, field: field, unit: unit, priority: max(priority, 1))
    }
}
