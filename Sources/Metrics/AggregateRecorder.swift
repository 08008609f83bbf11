import CoreMetrics
import Synchronization

/// A recorder (or a timer not mapped to events) summarised per reporting interval.
///
/// Reports `count`, `sum`, `min`, `max` and `last` of the values recorded since the previous report,
/// then starts over; timers report milliseconds. A non-aggregating recorder (a gauge) reports `value`.
final class AggregateRecorder: RecorderHandler, TimerHandler, AggregateMetric {
    private struct Summary {
        var count = 0
        var sum = 0.0
        var min = Double.infinity
        var max = -Double.infinity
        var last = 0.0
    }

    let series: MetricSeries
    let typeName: String
    private let aggregate: Bool
    private let summary = Mutex(Summary())

    /// Creates a recorder; `typeName` is `recorder`, `gauge` or `timer`.
    init(series: MetricSeries, typeName: String, aggregate: Bool) {
        self.series = series
        self.typeName = typeName
        self.aggregate = aggregate
    }

    func record(_ value: Int64) { record(Double(value)) }

    func record(_ value: Double) {
        summary.withLock { summary in
            summary.count += 1
            summary.sum += value
            summary.min = Swift.min(summary.min, value)
            summary.max = Swift.max(summary.max, value)
            summary.last = value
        }
    }

    /// Records a duration in milliseconds.
    func recordNanoseconds(_ duration: Int64) {
        record(Double(duration) / 1e6)
    }

    func takeSnapshot() -> [String: FieldValue]? {
        let taken = summary.withLock { summary -> Summary in
            defer { if aggregate { summary = Summary() } }
            return summary
        }
        guard taken.count > 0 else { return nil }
        guard aggregate else { return ["value": .double(taken.last)] }
        let unit = typeName == "timer" ? "_ms" : ""
        return [
            "count": .int(Int64(taken.count)),
            "sum" + unit: .double(taken.sum),
            "min" + unit: .double(taken.min),
            "max" + unit: .double(taken.max),
            "last" + unit: .double(taken.last),
        ]
    }
}
