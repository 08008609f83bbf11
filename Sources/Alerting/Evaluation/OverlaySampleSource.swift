import PromQL

/// A source that adds samples recorded earlier in the same group evaluation to a base source, so
/// later rules see them (as Prometheus's rules read what earlier rules wrote).
struct OverlaySampleSource: SampleSource {
    /// Where stored series come from.
    let base: any SampleSource
    /// Samples that replace or add to the base's at the evaluation time.
    let extra: [Sample]

    /// The base's matches with the extra samples merged in.
    func select(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> [Sample] {
        let added = extra.filter { sample in matchers.allSatisfy { $0.matches(sample.labels) } }
        guard !added.isEmpty else { return try await base.select(matchers, at: time) }
        let replaced = Set(added.map(\.labels))
        let kept = try await base.select(matchers, at: time).filter { !replaced.contains($0.labels) }
        return (kept + added).sorted { $0.labels < $1.labels }
    }
}
