/// A `by (...)` or `without (...)` clause of an aggregation.
public struct Grouping: Hashable, Sendable {
    /// How the listed labels form groups.
    public enum Mode: String, Hashable, Sendable {
        /// Group by the listed labels; the result keeps only them.
        case by
        /// Group by all labels except the listed ones and the metric name.
        case without
    }

    /// `by` or `without`.
    public var mode: Mode
    /// The listed label names, as written.
    public var labels: [String]

    /// Creates a grouping clause.
    public init(_ mode: Mode, _ labels: [String]) {
        self.mode = mode
        self.labels = labels
    }

    /// The labels of the group a sample with `labels` belongs to (also the result's labels).
    func groupLabels(of labels: Labels) -> Labels {
        switch mode {
        case .by: labels.keeping(names: self.labels)
        case .without: labels.removing(names: self.labels + [Labels.metricName])
        }
    }

    /// The labels of a sample's group, as a ``LabelSubset`` (its ``LabelSubset/labels(of:)`` is
    /// ``groupLabels(of:)``).
    var subset: LabelSubset {
        switch mode {
        case .by: .keeping(labels)
        case .without: .removing(labels)
        }
    }
}
