/// The static type of a PromQL expression in Opsight's subset.
public enum ValueType: Hashable, Sendable, CustomStringConvertible {
    /// A single number.
    case scalar
    /// A set of series, each with one sample at the evaluation time.
    case vector

    /// The name Prometheus uses in messages: `scalar` or `instant vector`.
    public var description: String {
        switch self {
        case .scalar: "scalar"
        case .vector: "instant vector"
        }
    }
}
