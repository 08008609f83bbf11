import PromQL

/// An alert as Alertmanager receives it (`POST /api/v2/alerts`): labels, annotations, start, end,
/// and the link to its expression. Times are unix ms.
public struct Alert: Hashable, Sendable {
    /// The identifying labels.
    public var labels: Labels
    /// The annotations.
    public var annotations: [String: String]
    /// When it started firing.
    public var startsAt: Int64
    /// When it ended (resolved) or until when it is valid; `nil`: open-ended.
    public var endsAt: Int64?
    /// The link to the rule's expression.
    public var generatorURL: String

    /// Creates an alert.
    public init(
        labels: Labels, annotations: [String: String] = [:], startsAt: Int64, endsAt: Int64? = nil,
        generatorURL: String = ""
    ) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }

    /// Alertmanager's `Resolved()`: the end time is set and not after `now`.
    public func isResolved(at now: Int64) -> Bool { endsAt.map { $0 <= now } ?? false }

    /// `firing` or `resolved` at `now`.
    public func status(at now: Int64) -> AlertStatus { isResolved(at: now) ? .resolved : .firing }

    /// Alertmanager's fingerprint of the labels.
    public var fingerprint: Fingerprint { Fingerprint(labels) }

    /// The alert name label.
    public var name: String { labels["alertname"] ?? "" }
}
