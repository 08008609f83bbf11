/// One series' value at the evaluation time.
public struct Sample: Hashable, Sendable {
    /// The series' labels, `__name__` included when it has a name.
    public var labels: Labels
    /// The value.
    public var value: Double

    /// Creates a sample.
    public init(labels: Labels, value: Double) {
        self.labels = labels
        self.value = value
    }
}
