/// An `on(...)` or `ignoring(...)` clause of a binary operation between vectors.
public struct VectorMatching: Hashable, Sendable {
    /// Which labels identify matching samples.
    public enum Mode: String, Hashable, Sendable {
        /// Only the listed labels.
        case on
        /// All labels except the listed ones (and the metric name).
        case ignoring
    }

    /// `on` or `ignoring`.
    public var mode: Mode
    /// The listed label names, as written.
    public var labels: [String]

    /// Creates a matching clause.
    public init(_ mode: Mode, _ labels: [String]) {
        self.mode = mode
        self.labels = labels
    }

    /// The labels two samples must agree on to match: `on` keeps the listed ones; `ignoring` (and no
    /// clause at all) drops the listed ones and the metric name.
    func signature(of labels: Labels) -> Labels {
        switch mode {
        case .on: labels.keeping(names: self.labels)
        case .ignoring: labels.removing(names: self.labels + [Labels.metricName])
        }
    }

    /// The labels two samples must agree on, as a ``LabelSubset`` (its ``LabelSubset/labels(of:)`` is
    /// ``signature(of:)``).
    var subset: LabelSubset {
        switch mode {
        case .on: .keeping(labels)
        case .ignoring: .removing(labels)
        }
    }
}
