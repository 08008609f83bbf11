/// A series of a range evaluation: its labels and one point per step at which it had a value.
public struct Series: Hashable, Sendable {
    /// The series' labels.
    public var labels: Labels
    /// Points in time order.
    public var points: [Point]

    /// Creates a series.
    public init(labels: Labels, points: [Point]) {
        self.labels = labels
        self.points = points
    }
}
