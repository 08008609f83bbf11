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
        // Each series' points, found by its labels — or, first, by its position in the step before: a step's series
        // usually come as the last step's did (a kept step's are the same labels, compared by their storage), and
        // hashing every sample's labels into a dictionary was a tenth of a range query whose steps were kept.
        var index: [Labels: Int] = [:]
        var labels: [Labels] = []
        var points: [[Point]] = []
        var last: [(labels: Labels, series: Int)] = []
        var current: [(labels: Labels, series: Int)] = []
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
            current.removeAll(keepingCapacity: true)
            for (k, sample) in samples.enumerated() {
                let s: Int
                if k < last.count, last[k].labels == sample.labels {
                    s = last[k].series
                } else if let known = index[sample.labels] {
                    s = known
                } else {
                    s = labels.count
                    index[sample.labels] = s
                    labels.append(sample.labels)
                    points.append([])
                }
                points[s].append(Point(timestamp: time, value: sample.value))
                current.append((sample.labels, s))
            }
            swap(&last, &current)
            let (next, overflow) = time.addingReportingOverflow(step)
            if overflow { break }
            time = next
        }
        return zip(labels, points).map { Series(labels: $0, points: $1) }.sorted { $0.labels < $1.labels }
    }
}
