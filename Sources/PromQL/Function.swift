/// A function of the subset.
public enum Function: String, Hashable, Sendable, CaseIterable {
    /// `abs(v)`: absolute values, metric name dropped.
    case abs
    /// `absent(v)`: empty if `v` has samples, else one sample of value 1 labelled from the
    /// equality matchers of a selector argument.
    case absent
    /// `clamp_min(v, min)`: values raised to at least `min`, metric name dropped.
    case clampMin = "clamp_min"
    /// `clamp_max(v, max)`: values lowered to at most `max`, metric name dropped.
    case clampMax = "clamp_max"

    /// The types of the arguments, in order.
    public var argumentTypes: [ValueType] {
        switch self {
        case .abs, .absent: [.vector]
        case .clampMin, .clampMax: [.vector, .scalar]
        }
    }
}
