/// A `SampleSource` over series held in memory, for tests and rule-evaluation fixtures.
///
/// Each series holds timestamped points; a selection at `time` takes each series' latest point at or
/// before `time`, if it is no older than `lookback` (Prometheus's 5 minutes by default; `nil`
/// means forever).
public struct InMemorySampleSource: SampleSource {
    /// How old a point may be and still count as the series' current value, in ms; `nil`: no limit.
    public var lookback: Int64?
    private var series: [Labels: [Point]] = [:]

    /// An empty source.
    public init(lookback: Int64? = 300_000) {
        self.lookback = lookback
    }

    /// A source whose samples have their value at every time.
    public init(_ samples: [Sample]) {
        self.init(lookback: nil)
        for sample in samples { add(sample.labels, value: sample.value, at: .min) }
    }

    /// Records `value` for the series `labels` at `timestamp` (unix ms), replacing a point at the
    /// same time.
    public mutating func add(_ labels: Labels, value: Double, at timestamp: Int64) {
        var points = series[labels, default: []]
        points.removeAll { $0.timestamp == timestamp }
        let index = points.firstIndex { $0.timestamp > timestamp } ?? points.endIndex
        points.insert(Point(timestamp: timestamp, value: value), at: index)
        series[labels] = points
    }

    /// Records every sample at `timestamp`.
    public mutating func add(_ samples: [Sample], at timestamp: Int64) {
        for sample in samples { add(sample.labels, value: sample.value, at: timestamp) }
    }

    /// Every series matching all `matchers`, with its value at `time`, sorted by labels.
    public func select(_ matchers: [LabelMatcher], at evaluationTime: EvaluationTime) async throws -> [Sample] {
        let time = evaluationTime.milliseconds
        return series.compactMap { labels, points -> Sample? in
            guard matchers.allSatisfy({ $0.matches(labels) }),
                let point = points.last(where: { $0.timestamp <= time }),
                lookback.map({ point.timestamp >= time - $0 }) ?? true
            else { return nil }
            return Sample(labels: labels, value: point.value)
        }
        .sorted { $0.labels < $1.labels }
    }
}
