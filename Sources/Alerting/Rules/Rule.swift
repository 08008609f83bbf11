/// A rule of a group: alerting or recording.
public enum Rule: Hashable, Sendable {
    /// An `alert:` rule.
    case alerting(AlertRule)
    /// A `record:` rule.
    case recording(RecordingRule)

    /// The alert name or recorded metric name.
    public var name: String {
        switch self {
        case .alerting(let rule): rule.name
        case .recording(let rule): rule.name
        }
    }
}
