/// The running state of one aggregation group, with Prometheus's numerics (Kahan–Neumaier sums,
/// an incremental mean once a sum would overflow).
struct Aggregator {
    let op: AggregationOperator
    private var value: Double
    private var compensation = 0.0
    private var mean: Double
    private var count = 1.0
    private var incrementalMean = false

    /// Starts a group with its first value.
    init(_ op: AggregationOperator, first: Double) {
        self.op = op
        value = first
        mean = first
    }

    /// Adds another value of the group.
    mutating func add(_ f: Double) {
        switch op {
        case .sum:
            (value, compensation) = Self.kahanSum(f, value, compensation)
        case .count:
            count += 1
        case .max:
            if value < f || value.isNaN { value = f }
        case .min:
            if value > f || value.isNaN { value = f }
        case .avg:
            addToMean(f)
        }
    }

    private mutating func addToMean(_ f: Double) {
        count += 1
        if !incrementalMean {
            let (sum, c) = Self.kahanSum(f, value, compensation)
            if !sum.isInfinite {
                (value, compensation) = (sum, c)
                return
            }
            incrementalMean = true
            mean = value / (count - 1)
            compensation /= count - 1
        }
        if mean.isInfinite {
            if f.isInfinite && (mean > 0) == (f > 0) { return }
            if !f.isInfinite && !f.isNaN { return }
        }
        let current = mean + compensation
        (mean, compensation) = Self.kahanSum(f / count - current / count, mean, compensation)
    }

    /// The group's result.
    var result: Double {
        switch op {
        case .sum: value + compensation
        case .count: count
        case .min, .max: value
        case .avg: incrementalMean ? mean + compensation : value / count + compensation / count
        }
    }

    /// Prometheus's `kahanSumInc`.
    static func kahanSum(_ increment: Double, _ sum: Double, _ compensation: Double) -> (Double, Double) {
        let total = sum + increment
        if total.isInfinite { return (total, 0) }
        if sum.magnitude >= increment.magnitude { return (total, compensation + ((sum - total) + increment)) }
        return (total, compensation + ((increment - total) + sum))
    }
}
