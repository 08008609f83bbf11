extension Evaluator {
    /// Evaluates `expr` at `start`, `start + step`, … up to `end` (unix ms), as Prometheus's range
    /// queries: one series per label set, a scalar result being a series without labels; sorted
    /// by labels.
    ///
    /// With `parts` > 1 the steps are cut into up to that many runs of consecutive steps (each at least
    /// ``minStepsPerPart``), evaluated side by side, each from its own `forRange` source (from its first step through
    /// the range's end, asked only its own steps): the first look at a chart of
    /// 10 000 series' quantiles is seconds of work on one core otherwise. The result is the same as in one run; an
    /// error is the one the earliest failing step throws, as in one run.
    public func evaluateRange(_ expr: Expr, start: Int64, end: Int64, step: Int64, parts: Int = 1) async throws
        -> [Series]
    {
        guard step > 0 else {
            throw PromQLError(.invalid, "zero or negative query resolution step widths are not accepted", at: .start)
        }
        guard end >= start else {
            throw PromQLError(.invalid, "end timestamp must not be before start time", at: .start)
        }
        let (span, overflow) = end.subtractingReportingOverflow(start)
        let steps = overflow ? 0 : span / step + 1
        let runs = Int(max(1, min(Int64(max(parts, 1)), steps / Self.minStepsPerPart)))
        if runs == 1 { return try await evaluateSteps(expr, start: start, through: end, step: step).series }
        // Run `r` holds the steps from `firsts[r]` on, before `firsts[r + 1]`: the first `steps % runs` runs one more.
        let (each, extra) = steps.quotientAndRemainder(dividingBy: Int64(runs))
        let firsts = (0...runs).map { r in Int64(r) * each + min(Int64(r), extra) }
        let outcomes = await withTaskGroup(of: (Int, Result<Run, any Error>).self) { group in
            for r in 0..<runs {
                group.addTask {
                    let from = start + firsts[r] * step
                    let through = r == runs - 1 ? end : start + (firsts[r + 1] - 1) * step
                    do {
                        let run = try await evaluateSteps(
                            expr, start: from, through: through, rangeEnd: end, step: step)
                        return (r, .success(run))
                    } catch {
                        return (r, .failure(error))
                    }
                }
            }
            var out = [Result<Run, any Error>?](repeating: nil, count: runs)
            for await (r, outcome) in group { out[r] = outcome }
            return out.map { $0! }
        }
        var merged = Run()
        for outcome in outcomes {
            let run = try outcome.get()
            for (labels, points) in zip(run.labels, run.points) { merged.append(labels, points) }
        }
        return merged.series
    }

    /// Fewest steps a run of a range evaluated apart holds: each run slides its windows from a whole first one.
    public static let minStepsPerPart: Int64 = 30

    /// The series of a run of steps, each with its points, in the order they first appeared.
    private struct Run {
        var index: [Labels: Int] = [:]
        var labels: [Labels] = []
        var points: [[Point]] = []

        /// `points` for `labels` after those it has.
        mutating func append(_ labels: Labels, _ points: [Point]) {
            if let known = index[labels] {
                self.points[known] += points
            } else {
                index[labels] = self.labels.count
                self.labels.append(labels)
                self.points.append(points)
            }
        }

        /// The series, sorted by labels.
        var series: [Series] {
            zip(labels, points).map { Series(labels: $0, points: $1) }.sorted { $0.labels < $1.labels }
        }
    }

    /// Evaluates `expr` at `start`, `start + step`, … up to `through`, from one `forRange` source through `rangeEnd`
    /// (the range's end, so that only the run that reaches it keeps what a source keeps of the range's last step).
    private func evaluateSteps(_ expr: Expr, start: Int64, through end: Int64, rangeEnd: Int64? = nil, step: Int64)
        async throws -> Run
    {
        // Each series' points, found by its labels — or, first, by its position in the step before: a step's series
        // usually come as the last step's did (a kept step's are the same labels, compared by their storage), and
        // hashing every sample's labels into a dictionary was a tenth of a range query whose steps were kept.
        var run = Run()
        var last: [(labels: Labels, series: Int)] = []
        var current: [(labels: Labels, series: Int)] = []
        // The steps come in ascending order, as `forRange` is promised.
        let steps = source.forRange(start: start, end: rangeEnd ?? end, step: step)
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
                } else if let known = run.index[sample.labels] {
                    s = known
                } else {
                    s = run.labels.count
                    run.index[sample.labels] = s
                    run.labels.append(sample.labels)
                    run.points.append([])
                }
                run.points[s].append(Point(timestamp: time, value: sample.value))
                current.append((sample.labels, s))
            }
            swap(&last, &current)
            let (next, overflow) = time.addingReportingOverflow(step)
            if overflow { break }
            time = next
        }
        return run
    }
}
