import Foundation

/// An assessment's lifecycle in the database.
public enum AssessmentState: String, Sendable, Codable {
    /// Waiting for a worker (also between retries).
    case queued
    /// Claimed by a worker; the AI call is under way.
    case running
    /// Done; the result is stored.
    case succeeded
    /// Every attempt failed.
    case failed
}

/// An assessment row as read back for the API.
public struct AssessmentRecord: Sendable {
    /// The assessment (and job) id.
    public var id: UUID
    /// The assessed document.
    public var documentID: UUID
    /// Where it is in its lifecycle.
    public var state: AssessmentState
    /// Attempts begun so far.
    public var attempts: Int
    /// 0…1.
    public var progress: Double
    /// The result document (JSON text), once succeeded.
    public var resultJSON: String?
    /// The last attempt's error.
    public var error: String?
    /// Seconds since the current attempt started, when running.
    public var runningFor: Double?
    /// Seconds until a queued retry becomes claimable (0 when it already is).
    public var runsIn: Double?
}

/// A job claimed by one worker: the row is `running` and owned by it until completed or rescheduled.
public struct ClaimedJob: Sendable, Equatable {
    /// The assessment (and job) id.
    public var id: UUID
    /// The document to assess.
    public var documentID: UUID
    /// The attempt number, from 1.
    public var attempt: Int
    /// Requested frameworks.
    public var frameworks: [String]
    /// The document's text.
    public var content: String
    /// The worker loop that claimed it.
    public var claimedBy: String
    /// The user who asked for it: the funnel entity of its job events.
    public var userID: String = ""
    /// How long it waited in the queue since it was last enqueued (created or rescheduled) until this claim.
    public var queueWait: Duration = .zero
}
