import Foundation

/// One state change of an alert, as the alert history keeps it.
public struct AlertHistoryEntry: Sendable, Equatable {
    public var atMs: Int64
    public var alertname: String
    public var labels: [String: String]
    /// `pending`, `firing` or `resolved`.
    public var state: String
    public var value: Double?

    /// Creates the transition.
    public init(atMs: Int64, alertname: String, labels: [String: String], state: String, value: Double?) {
        self.atMs = atMs
        self.alertname = alertname
        self.labels = labels
        self.state = state
        self.value = value
    }
}

/// Where alerting keeps what must survive a restart: evaluation and dispatch state, the outbox of
/// notifications, silences, the alert history and the lease that makes one process the evaluator.
///
/// `commit` is the outbox's promise: the state change and the notifications it caused are written
/// together or not at all.
public protocol AlertStore: Sendable {
    /// The saved state snapshots by part name (`rules`, `dispatch`).
    func loadState() async throws -> [String: [UInt8]]
    /// Saves `state`, appends `history` and `outbox`, in one transaction.
    func commit(state: [String: [UInt8]], history: [AlertHistoryEntry], outbox: [OutboxMessage], nowMs: Int64)
        async throws
    /// Pending messages due at `nowMs`, each claimed for `claimMs` (its next attempt moved past it, its attempt
    /// counted), so that a second worker does not take it meanwhile and a crashed worker's claim expires.
    func claimDue(limit: Int, nowMs: Int64, claimMs: Int64) async throws -> [OutboxRecord]
    /// Records a delivery.
    func markDelivered(id: UUID, status: Int, atMs: Int64) async throws
    /// Records a failed attempt to retry at `nextAttemptAtMs`.
    func markRetry(id: UUID, status: Int?, error: String, nextAttemptAtMs: Int64) async throws
    /// Records giving up.
    func markFailed(id: UUID, status: Int?, error: String, atMs: Int64) async throws
    /// The newest `limit` notifications, newest first.
    func notifications(limit: Int) async throws -> [OutboxRecord]
    /// The newest `limit` transitions, newest first.
    func history(limit: Int) async throws -> [AlertHistoryEntry]
    /// Takes or renews lease `name` for `holder` until `nowMs + ttlMs`; false when another holder has it.
    func acquireLease(name: String, holder: String, ttlMs: Int64, nowMs: Int64) async throws -> Bool
    /// Gives lease `name` up if `holder` has it.
    func releaseLease(name: String, holder: String) async throws
    /// Saves (creates or replaces) a silence, encoded by the caller.
    func saveSilence(id: UUID, encoded: [UInt8], endsAtMs: Int64, nowMs: Int64) async throws
    /// Every silence that ended after `sinceMs`.
    func silences(endedAfterMs sinceMs: Int64) async throws -> [[UInt8]]
}
