/// The state of an alert of an alerting rule, as Prometheus's.
public enum AlertState: String, Hashable, Sendable, Codable, CaseIterable {
    /// Resolved: was firing, the condition no longer holds (kept a while to send the resolution).
    case inactive
    /// The condition holds, but not yet for the rule's `for`.
    case pending
    /// The condition has held for `for` (or is kept by `keep_firing_for`).
    case firing
}
