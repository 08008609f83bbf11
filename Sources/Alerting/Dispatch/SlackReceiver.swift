/// Settings of a Slack incoming-webhook receiver.
public struct SlackReceiver: Hashable, Sendable {
    /// The incoming-webhook URL.
    public var url: String
    /// Overrides the webhook's channel.
    public var channel: String?
    /// Overrides the webhook's user name.
    public var username: String?
    /// The attachment title (Alertmanager template over the notification); default
    /// `[FIRING:2] alertname …`.
    public var title: Template?
    /// The attachment text (Alertmanager template); default: one line per alert.
    public var text: Template?
    /// Whether resolved notifications are sent.
    public var sendResolved: Bool

    /// Creates settings.
    public init(
        url: String, channel: String? = nil, username: String? = nil, title: Template? = nil, text: Template? = nil,
        sendResolved: Bool = true
    ) {
        self.url = url
        self.channel = channel
        self.username = username
        self.title = title
        self.text = text
        self.sendResolved = sendResolved
    }
}
