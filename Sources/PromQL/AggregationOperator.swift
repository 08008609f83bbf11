/// An aggregation of the subset.
public enum AggregationOperator: String, Hashable, Sendable, CaseIterable {
    /// Sum of the values (Kahan–Neumaier compensated, as Prometheus).
    case sum
    /// Smallest value; NaN only if all are NaN.
    case min
    /// Largest value; NaN only if all are NaN.
    case max
    /// Arithmetic mean, computed as Prometheus does.
    case avg
    /// Number of samples.
    case count
}
