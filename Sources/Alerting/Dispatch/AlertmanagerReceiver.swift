/// Settings of an Alertmanager receiver: alerts are posted to `URL/api/v2/alerts`.
public struct AlertmanagerReceiver: Hashable, Sendable {
    /// The Alertmanager's base URL, e.g. `http://127.0.0.1:9093`.
    public var url: String
    /// Whether resolved alerts are sent (with `endsAt`).
    public var sendResolved: Bool

    /// Creates settings.
    public init(url: String, sendResolved: Bool = true) {
        self.url = url
        self.sendResolved = sendResolved
    }

    /// The endpoint alerts are posted to.
    public var alertsURL: String {
        (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/api/v2/alerts"
    }
}
