extension Evaluator {
    /// Evaluates `expr` at `start`, `start + step`, … up to `end` (unix ms), as Prometheus's range
    /// queries: one series per label set, a scalar result being a series without labels; sorted
    /// by labels.
    public func evaluateRange(_ expr: Expr, start: Int64, end: Int64, step: Int64) async throws -> [Series] {
        guard step > 0 else {
            throw PromQLError(.invalid, "zero or negative query resolution step widths are not accepted", at: .start)
        }
        guard end >= start else {
            throw PromQLError(.invalid, "end timestamp must not be before start time", at: .start)
        }
        var series: [Labels: [Point]] = [:]
        // The steps come in ascending order, as `forRange` is promised.
        let steps = source.forRange(start: start, end: end, step: step)
        let query = expr.description
        var time = start
        while time <= end {
            let samples: [Sample]
            switch try await steps.step(query, at: time) {
            case .kept(let kept):
                samples = kept
            case .evaluate(let stepSource, let keep):
                // Each step is one evaluation with its own series budget.
                let evaluation = Evaluator(source: stepSource, limits: limits)
                samples = try await evaluation.value(of: expr, at: .at(time)).asVector
                keep?(samples)
            }
            for sample in samples {
                series[sample.labels, default: []].append(Point(timestamp: time, value: sample.value))
            }
            let (next, overflow) = time.addingReportingOverflow(step)
            if overflow { break }
            time = next
        }
        return series.map { Series(labels: $0.key, points: $0.value) }.sorted { $0.labels < $1.labels }
    }
}
