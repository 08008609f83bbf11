/// Where an evaluator gets series from: the seam between the PromQL engine and a store.
public protocol SampleSource: Sendable {
    /// Every series whose name and labels match `matchers`, with its value at `time` (at the current time when `time.isNow`).
    ///
    /// A series lacking a label is matched as if the label's value were empty. Each returned sample's
    /// labels include `__name__`. Series without a value at `time` are left out. Any order will do,
    /// but returning samples sorted by labels (`Labels` is `Comparable`) saves the evaluator a sort.
    func select(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> [Sample]

    /// ``select(_:at:)``, and whether the samples are known to be in label order, so that the evaluator need not
    /// check (10 000 comparisons of label sets per selection of 10 000 series).
    func selectOrdered(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> (
        samples: [Sample], sorted: Bool
    )

    /// Narrower selectors whose selections together are exactly what `matchers` selects, each smaller: the metadata
    /// endpoints (label names and values) collect through them, so a cap on one selection's series bounds a part
    /// rather than everything at once.
    func coveringSelectors(_ matchers: [LabelMatcher]) -> [[LabelMatcher]]

    /// A source for the steps of one range query, `start`, `start + step`, … through `end` (unix ms), asked in that
    /// order: it may read what the steps share once (a sliding window's buckets) instead of once per step. Its
    /// selections are those of this source at the same times. It may be asked only the first of its steps: a range
    /// evaluated in runs side by side gives each run a source through the range's end.
    func forRange(start: Int64, end: Int64, step: Int64) -> any SampleSource

    /// How a range source (from ``forRange(start:end:step:)``) answers step `time` of `query` (an expression's
    /// canonical text): the result an earlier range query kept, when it is still exactly what evaluating the step
    /// would give, or a source to evaluate the step with and where to keep its result. Asked once per step, in
    /// ascending order, the first step before anything is read.
    func step(_ query: String, at time: Int64) async throws -> RangeStep
}

/// See ``SampleSource/step(_:at:)``.
public enum RangeStep: Sendable {
    /// The step's result, kept from an earlier query.
    case kept([Sample])
    /// Evaluate the step with `source`, then hand its result to `keep` (if any).
    case evaluate(source: any SampleSource, keep: (@Sendable ([Sample]) -> Void)?)
}

extension SampleSource {
    /// `matchers` itself.
    public func coveringSelectors(_ matchers: [LabelMatcher]) -> [[LabelMatcher]] { [matchers] }

    /// This source itself: every step reads on its own.
    public func forRange(start: Int64, end: Int64, step: Int64) -> any SampleSource { self }

    /// Every step evaluated with this source itself, nothing kept.
    public func step(_ query: String, at time: Int64) async throws -> RangeStep { .evaluate(source: self, keep: nil) }

    /// ``select(_:at:)``, in an order not known.
    public func selectOrdered(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> (
        samples: [Sample], sorted: Bool
    ) {
        (try await select(matchers, at: time), false)
    }
}
