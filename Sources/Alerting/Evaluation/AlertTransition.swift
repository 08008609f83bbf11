import PromQL

/// A change of an alert's state during an evaluation: what an alert history records.
public struct AlertTransition: Hashable, Sendable {
    /// The alert's labels.
    public var labels: Labels
    /// The state before (`nil`: the alert is new).
    public var from: AlertState?
    /// The state after (`nil`: the alert was dropped: a pending alert whose condition cleared, or a
    /// resolved one past retention).
    public var to: AlertState?
    /// The evaluation time (unix ms).
    public var at: Int64
    /// The value at the evaluation.
    public var value: Double

    /// Creates a transition.
    public init(labels: Labels, from: AlertState?, to: AlertState?, at: Int64, value: Double) {
        self.labels = labels
        self.from = from
        self.to = to
        self.at = at
        self.value = value
    }
}
