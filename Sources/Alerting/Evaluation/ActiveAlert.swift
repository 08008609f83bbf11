import PromQL

/// One alert of an alerting rule (one label set), with its state and timestamps (unix ms), as
/// Prometheus's `rules.Alert`.
public struct ActiveAlert: Hashable, Sendable {
    /// The current state.
    public var state: AlertState
    /// The alert's identity: the result's labels without `__name__`, plus the rule's labels and
    /// `alertname`.
    public var labels: Labels
    /// The expanded annotations.
    public var annotations: [String: String]
    /// The sample value at the last evaluation where the condition held.
    public var value: Double
    /// When the condition started holding (start of pending).
    public var activeAt: Int64
    /// When it started firing.
    public var firedAt: Int64?
    /// When it was resolved.
    public var resolvedAt: Int64?
    /// When it was last handed out for sending.
    public var lastSentAt: Int64?
    /// Until when the last send is valid (Prometheus's `ValidUntil`, the `endsAt` of a firing alert).
    public var validUntil: Int64?
    /// Since when the condition has not held while `keep_firing_for` keeps the alert firing.
    public var keepFiringSince: Int64?

    /// Creates an alert.
    public init(
        state: AlertState, labels: Labels, annotations: [String: String] = [:], value: Double, activeAt: Int64,
        firedAt: Int64? = nil, resolvedAt: Int64? = nil, lastSentAt: Int64? = nil, validUntil: Int64? = nil,
        keepFiringSince: Int64? = nil
    ) {
        self.state = state
        self.labels = labels
        self.annotations = annotations
        self.value = value
        self.activeAt = activeAt
        self.firedAt = firedAt
        self.resolvedAt = resolvedAt
        self.lastSentAt = lastSentAt
        self.validUntil = validUntil
        self.keepFiringSince = keepFiringSince
    }

    /// Prometheus's `needsSending`: firing or resolved, and either resolved since the last send or
    /// last sent more than `resendDelay` ago.
    public func needsSending(at now: Int64, resendDelay: Int64) -> Bool {
        if state == .pending { return false }
        if let resolvedAt, resolvedAt > (lastSentAt ?? .min) { return true }
        return (lastSentAt ?? .min) + resendDelay < now
    }
}
