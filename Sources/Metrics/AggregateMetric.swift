/// A metric the factory aggregates in memory and reports periodically as a `kind: log` event.
protocol AggregateMetric: AnyObject, Sendable {
    /// The series it belongs to.
    var series: MetricSeries { get }
    /// The metric's type as written in `metric_type`.
    var typeName: String { get }
    /// The fields describing the current value (`value`, or `count`/`sum`/`min`/`max`); `nil` when there
    /// is nothing to report. Interval aggregates reset when read.
    func takeSnapshot() -> [String: FieldValue]?
}
