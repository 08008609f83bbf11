/// A named notification target of one kind.
public struct Receiver: Hashable, Sendable {
    /// What kind of target, with its settings.
    public enum Kind: Hashable, Sendable {
        /// A Slack incoming webhook.
        case slack(SlackReceiver)
        /// A generic webhook receiving Alertmanager's version-4 payload, signed.
        case webhook(WebhookReceiver)
        /// An Alertmanager, receiving alerts on `POST /api/v2/alerts`.
        case alertmanager(AlertmanagerReceiver)
    }

    /// The name routes refer to.
    public var name: String
    /// The target.
    public var kind: Kind

    /// Creates a receiver.
    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// Whether resolved alerts are sent (default true for every kind).
    public var sendResolved: Bool {
        switch kind {
        case .slack(let slack): slack.sendResolved
        case .webhook(let webhook): webhook.sendResolved
        case .alertmanager(let alertmanager): alertmanager.sendResolved
        }
    }

    /// The URL notifications are posted to.
    public var url: String {
        switch kind {
        case .slack(let slack): slack.url
        case .webhook(let webhook): webhook.url
        case .alertmanager(let alertmanager): alertmanager.url
        }
    }
}
