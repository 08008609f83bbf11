/// An instant-vector selector: an optional metric name and label matchers.
public struct VectorSelector: Hashable, Sendable {
    /// The metric name written before the braces, if any.
    public var metricName: String?
    /// The matchers written inside the braces, in source order.
    public var matchers: [LabelMatcher]
    /// Where the selector starts.
    public var position: SourcePosition

    /// Creates a selector.
    public init(metricName: String?, matchers: [LabelMatcher], position: SourcePosition = .start) {
        self.metricName = metricName
        self.matchers = matchers
        self.position = position
    }

    /// Every matcher a series must satisfy, the metric name as a `__name__` equality matcher last.
    public var allMatchers: [LabelMatcher] {
        guard let metricName else { return matchers }
        return matchers + [LabelMatcher(name: Labels.metricName, equalTo: metricName)]
    }
}
