import CoreMetrics
import Synchronization

/// A gauge holding its current value, reported as `value`.
final class AggregateMeter: MeterHandler, AggregateMetric {
    let series: MetricSeries
    let typeName = "gauge"
    private let current = Mutex<Double?>(nil)

    /// Creates a meter with no value yet (not reported until set).
    init(series: MetricSeries) {
        self.series = series
    }

    func set(_ value: Int64) { set(Double(value)) }
    func set(_ value: Double) { current.withLock { $0 = value } }
    func increment(by amount: Double) { current.withLock { $0 = ($0 ?? 0) + amount } }
    func decrement(by amount: Double) { current.withLock { $0 = ($0 ?? 0) - amount } }

    func takeSnapshot() -> [String: FieldValue]? {
        current.withLock { $0 }.map { ["value": .double($0)] }
    }
}
