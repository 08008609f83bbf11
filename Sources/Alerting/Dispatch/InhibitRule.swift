import PromQL

/// An inhibition rule: a firing alert matching `sourceMatchers` mutes alerts matching
/// `targetMatchers` that have the same values for the `equal` labels.
public struct InhibitRule: Hashable, Sendable {
    /// What the inhibiting alert must match.
    public var sourceMatchers: [LabelMatcher]
    /// What the inhibited alert must match.
    public var targetMatchers: [LabelMatcher]
    /// Labels whose values must be equal in source and target (absent counts as empty).
    public var equal: [String]

    /// Creates a rule.
    public init(sourceMatchers: [LabelMatcher], targetMatchers: [LabelMatcher], equal: [String] = []) {
        self.sourceMatchers = sourceMatchers
        self.targetMatchers = targetMatchers
        self.equal = equal
    }

    /// Whether an alert with `labels` is muted by one of `alerts` that is firing at `now`, as
    /// Alertmanager's inhibitor (an alert matching both sides is not inhibited by another that
    /// also matches both).
    public func mutes(_ labels: Labels, sources alerts: some Sequence<Alert>, at now: Int64) -> Bool {
        guard targetMatchers.allSatisfy({ $0.matches(labels) }) else { return false }
        let twoSided = sourceMatchers.allSatisfy { $0.matches(labels) }
        for source in alerts where !source.isResolved(at: now) {
            guard sourceMatchers.allSatisfy({ $0.matches(source.labels) }),
                equal.allSatisfy({ source.labels[$0] == labels[$0] })
            else { continue }
            if twoSided && targetMatchers.allSatisfy({ $0.matches(source.labels) }) { continue }
            return true
        }
        return false
    }
}
