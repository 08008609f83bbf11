/// The alerts of one route with the same group labels, and its flush timer (unix ms).
public struct AggregationGroup: Hashable, Sendable, Codable {
    /// The route's id.
    public var routeID: String
    /// Alertmanager's group key (`routeKey:groupLabels`).
    public var groupKey: String
    /// The receiver.
    public var receiver: String
    /// The group labels.
    public var labels: [String: String]
    /// The alerts in the group.
    public var fingerprints: Set<Fingerprint>
    /// When the group flushes next.
    public var nextFlushAt: Int64
    /// Whether it has flushed at least once (after which `group_interval` applies).
    public var hasFlushed: Bool
}
