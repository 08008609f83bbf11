/// Settings of a generic webhook receiver (Alertmanager's version-4 payload, HMAC-signed).
public struct WebhookReceiver: Hashable, Sendable {
    /// Where payloads are posted.
    public var url: String
    /// The HMAC-SHA256 key for `X-Opsight-Signature`; unsigned when `nil`.
    public var hmacSecret: String?
    /// Whether resolved notifications are sent.
    public var sendResolved: Bool
    /// At most this many alerts per payload (the rest counted in `truncatedAlerts`); 0: all.
    public var maxAlerts: Int

    /// Creates settings.
    public init(url: String, hmacSecret: String? = nil, sendResolved: Bool = true, maxAlerts: Int = 0) {
        self.url = url
        self.hmacSecret = hmacSecret
        self.sendResolved = sendResolved
        self.maxAlerts = maxAlerts
    }
}
