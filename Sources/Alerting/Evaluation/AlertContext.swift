/// What alert templates and outgoing alerts need besides the rule: Prometheus's external URL and
/// external labels.
public struct AlertContext: Hashable, Sendable {
    /// The URL Opsight is reached at (`$externalURL`, `generatorURL`).
    public var externalURL: String
    /// Labels added to outgoing alerts that lack them (`$externalLabels`).
    public var externalLabels: [String: String]

    /// Creates a context.
    public init(externalURL: String = "", externalLabels: [String: String] = [:]) {
        self.externalURL = externalURL
        self.externalLabels = externalLabels
    }
}
