/// An error from a store that says which store failed and whether it was out of reach (trying again later can
/// help) rather than refusing the data. The HTTP layer answers every such outage with 503 `store_unavailable`,
/// whichever store implementation threw it.
public protocol StoreFailure: Error, Sendable {
    /// The store that failed, e.g. `redis`, `postgres`.
    var storeName: String { get }
    /// Whether the store could not be reached or did not answer.
    var isOutage: Bool { get }
}

extension CollectorError: StoreFailure {
    /// `store` for store failures raised by the collector's own fakes and wrappers.
    public var storeName: String { "store" }
    /// Store failures are outages: the in-memory store throws them when told to fail.
    public var isOutage: Bool { code == .store }
}
