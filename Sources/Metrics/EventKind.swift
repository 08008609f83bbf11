/// The kind of an ingested event (schema v1).
///
/// The raw values are persisted in the write-ahead log, so they must never be renumbered.
public enum EventKind: UInt8, Sendable, CaseIterable {
    /// An HTTP (or RPC) request with a status and a duration.
    case request = 0
    /// A lifecycle step of a background job.
    case job = 1
    /// A named business event performed by an entity; feeds funnels.
    case event = 2
    /// A log line.
    case log = 3

    /// The schema spelling: `"request"`, `"job"`, `"event"` or `"log"`.
    public var rawString: String {
        switch self {
        case .request: "request"
        case .job: "job"
        case .event: "event"
        case .log: "log"
        }
    }

    /// Parses the schema spelling (exact, lower case); `nil` for anything else.
    public init?(rawString: String) {
        switch rawString {
        case "request": self = .request
        case "job": self = .job
        case "event": self = .event
        case "log": self = .log
        default: return nil
        }
    }
}
