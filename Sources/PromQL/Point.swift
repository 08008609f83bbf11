/// A value at a time.
public struct Point: Hashable, Sendable {
    /// Unix milliseconds.
    public var timestamp: Int64
    /// The value.
    public var value: Double

    /// Creates a point.
    public init(timestamp: Int64, value: Double) {
        self.timestamp = timestamp
        self.value = value
    }
}
