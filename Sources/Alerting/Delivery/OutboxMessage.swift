import Foundation

/// A notification rendered to the HTTP request that delivers it, as the outbox keeps it.
///
/// The body is final; a signed integration (`webhook` with a secret) is signed at each attempt, since
/// the signature covers the send time.
public struct OutboxMessage: Sendable, Hashable {
    /// The notification's id, sent as `Idempotency-Key`.
    public var id: UUID
    public var receiver: String
    /// `slack`, `webhook` or `alertmanager`.
    public var integration: String
    public var groupKey: String
    /// `firing` or `resolved`.
    public var status: String
    /// How many alerts the notification carries.
    public var alerts: Int
    public var url: String
    public var headers: [String: String]
    public var body: [UInt8]

    /// Creates the message.
    public init(
        id: UUID, receiver: String, integration: String, groupKey: String, status: String, alerts: Int, url: String,
        headers: [String: String], body: [UInt8]
    ) {
        self.id = id
        self.receiver = receiver
        self.integration = integration
        self.groupKey = groupKey
        self.status = status
        self.alerts = alerts
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// An outbox row: the message and where its delivery stands.
public struct OutboxRecord: Sendable, Equatable {
    /// Where a delivery stands.
    public enum State: String, Sendable {
        case pending, delivered, failed
    }

    public var message: OutboxMessage
    /// The order the outbox received it in.
    public var sequence: Int64
    public var state: State
    public var attempts: Int
    /// When the message was written, unix milliseconds.
    public var createdAtMs: Int64
    /// The next attempt (pending) or the delivery / give-up time, unix milliseconds.
    public var nextAttemptAtMs: Int64
    public var deliveredAtMs: Int64?
    public var lastStatus: Int?
    public var lastError: String?

    /// Creates the record.
    public init(
        message: OutboxMessage, sequence: Int64 = 0, state: State, attempts: Int, createdAtMs: Int64, nextAttemptAtMs: Int64,
        deliveredAtMs: Int64? = nil, lastStatus: Int? = nil, lastError: String? = nil
    ) {
        self.message = message
        self.sequence = sequence
        self.state = state
        self.attempts = attempts
        self.createdAtMs = createdAtMs
        self.nextAttemptAtMs = nextAttemptAtMs
        self.deliveredAtMs = deliveredAtMs
        self.lastStatus = lastStatus
        self.lastError = lastError
    }
}
