import CoreMetrics
import Synchronization

/// A counter kept as a running total on an atomic and reported as `value` (cumulative since start).
final class AggregateCounter: CounterHandler, AggregateMetric {
    let series: MetricSeries
    let typeName = "counter"
    private let total = Atomic<Int64>(0)

    /// Creates a zeroed counter.
    init(series: MetricSeries) {
        self.series = series
    }

    /// Adds `amount` (swift-metrics never passes negatives).
    func increment(by amount: Int64) {
        total.wrappingAdd(amount, ordering: .relaxed)
    }

    /// Resets the total to zero.
    func reset() {
        total.store(0, ordering: .relaxed)
    }

    func takeSnapshot() -> [String: FieldValue]? {
        ["value": .int(total.load(ordering: .relaxed))]
    }
}
