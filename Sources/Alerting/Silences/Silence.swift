import PromQL

/// A silence: alerts matching all its matchers are not notified between `startsAt` and `endsAt`
/// (unix ms). Field names as Alertmanager's API v2.
public struct Silence: Hashable, Sendable, Codable {
    /// The identifier (a UUID string).
    public var id: String
    /// What alerts it mutes (all must match).
    public var matchers: [SilenceMatcher]
    /// When it starts.
    public var startsAt: Int64
    /// When it ends.
    public var endsAt: Int64
    /// Who created it.
    public var createdBy: String
    /// Why.
    public var comment: String
    /// When it was last changed.
    public var updatedAt: Int64

    /// Creates a silence.
    public init(
        id: String = "", matchers: [SilenceMatcher], startsAt: Int64, endsAt: Int64, createdBy: String,
        comment: String, updatedAt: Int64 = 0
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
        self.updatedAt = updatedAt
    }

    /// The state at `now`: expired from `endsAt` on, pending before `startsAt`, else active.
    public func state(at now: Int64) -> SilenceState {
        if endsAt <= now { return .expired }
        if startsAt > now { return .pending }
        return .active
    }

    /// Whether every matcher matches `labels` (a matcher whose regex does not compile never matches).
    public func matches(_ labels: Labels) -> Bool {
        matchers.allSatisfy { matcher in (try? matcher.labelMatcher())?.matches(labels) ?? false }
    }

    /// Whether it mutes an alert with `labels` at `now`.
    public func mutes(_ labels: Labels, at now: Int64) -> Bool {
        state(at: now) == .active && matches(labels)
    }

    /// Alertmanager's validation; the message when invalid.
    func validationError() -> String? {
        if matchers.isEmpty { return "at least one matcher required" }
        for (index, matcher) in matchers.enumerated() {
            guard LabelName.isValid(matcher.name) else {
                return "invalid label matcher \(index): invalid label name \(matcher.name.goQuoted)"
            }
            if (try? matcher.labelMatcher()) == nil {
                return "invalid label matcher \(index): invalid regular expression \(matcher.value.goQuoted)"
            }
        }
        if matchers.allSatisfy({ (try? $0.labelMatcher())?.matches("") ?? true }) {
            return "at least one matcher must not match the empty string"
        }
        if endsAt < startsAt { return "end time must not be before start time" }
        if createdBy.isEmpty { return "creator information missing" }
        if comment.isEmpty { return "comment missing" }
        return nil
    }
}
