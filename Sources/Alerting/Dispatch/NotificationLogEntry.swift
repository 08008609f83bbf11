/// What was last notified for a group and receiver (Alertmanager's notification log entry): the
/// basis of deduplication and `repeat_interval`.
public struct NotificationLogEntry: Hashable, Sendable, Codable {
    /// The alerts that were firing.
    public var firing: Set<Fingerprint>
    /// The alerts that were resolved.
    public var resolved: Set<Fingerprint>
    /// When (unix ms).
    public var timestamp: Int64

    /// Alertmanager's `needsUpdate`: notify when new alerts fire, when all resolved after some
    /// were notified firing, when new ones resolved (if resolved are sent), or when
    /// `repeatInterval` passed.
    static func needsUpdate(
        _ entry: NotificationLogEntry?, firing: Set<Fingerprint>, resolved: Set<Fingerprint>, sendResolved: Bool,
        repeatInterval: Int64, now: Int64
    ) -> Bool {
        guard let entry else { return !firing.isEmpty }
        if !firing.isSubset(of: entry.firing) { return true }
        if firing.isEmpty { return !entry.firing.isEmpty }
        if sendResolved && !resolved.isSubset(of: entry.resolved) { return true }
        return entry.timestamp < now - repeatInterval
    }
}
