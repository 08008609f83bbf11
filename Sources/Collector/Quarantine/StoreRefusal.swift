/// An error a store raises, telling a refusal of the data itself from the store being unreachable.
///
/// The flush loops retry a failed delta exactly as it was, which is right for an outage and wrong for a
/// delta the store will never take (PostgreSQL refusing a NUL in `text`, an index row over its size limit):
/// that one would be retried forever and hold back every delta behind it. Stores wrap their driver errors in
/// a type conforming to this, so the collector can tell the two apart without importing a driver.
public protocol StoreRefusal: Error {
    /// True when the store refused the data for what it is: the same data will be refused again.
    var refusesData: Bool { get }
}

extension Error {
    /// Whether this error says the store refused the data itself (see ``StoreRefusal``).
    public var isDataRefusal: Bool { (self as? any StoreRefusal)?.refusesData ?? false }
}
