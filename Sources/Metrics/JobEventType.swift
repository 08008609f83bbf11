/// The lifecycle step a job event reports.
///
/// The raw values are persisted in the write-ahead log, so they must never be renumbered.
public enum JobEventType: UInt8, Sendable, CaseIterable {
    /// The job was put on its queue (again, for a retry).
    case enqueued = 0
    /// A worker picked the job up.
    case started = 1
    /// The job finished successfully.
    case succeeded = 2
    /// The job finished with a failure.
    case failed = 3
    /// The job is being retried.
    case retried = 4

    /// The schema spelling: `"enqueued"`, `"started"`, `"succeeded"`, `"failed"` or `"retried"`.
    public var rawString: String {
        switch self {
        case .enqueued: "enqueued"
        case .started: "started"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .retried: "retried"
        }
    }

    /// Parses the schema spelling (exact, lower case); `nil` for anything else.
    public init?(rawString: String) {
        switch rawString {
        case "enqueued": self = .enqueued
        case "started": self = .started
        case "succeeded": self = .succeeded
        case "failed": self = .failed
        case "retried": self = .retried
        default: return nil
        }
    }
}
