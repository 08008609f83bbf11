/// Everything a dispatcher remembers; Codable, so a restart neither loses groups nor re-notifies.
public struct DispatcherState: Hashable, Sendable, Codable {
    /// The latest version of each alert received.
    public var alerts: [Fingerprint: Alert] = [:]
    /// Aggregation groups by route id + group labels.
    public var groups: [String: AggregationGroup] = [:]
    /// The notification log by group key + receiver.
    public var log: [String: NotificationLogEntry] = [:]

    /// An empty state.
    public init() {}
}
