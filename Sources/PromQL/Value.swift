/// The result of evaluating an expression.
public enum Value: Hashable, Sendable {
    /// A single number (e.g. `1 + 2`).
    case scalar(Double)
    /// Samples with distinct labels, sorted by labels (Prometheus's label order).
    case vector([Sample])

    /// The samples of a vector, or `nil` for a scalar.
    public var samples: [Sample]? {
        if case .vector(let samples) = self { return samples }
        return nil
    }

    /// The number of a scalar, or `nil` for a vector.
    public var scalar: Double? {
        if case .scalar(let value) = self { return value }
        return nil
    }

    /// The result as alert rules see it: a scalar becomes one sample without labels, as Prometheus's
    /// rule manager does.
    public var asVector: [Sample] {
        switch self {
        case .scalar(let value): [Sample(labels: .empty, value: value)]
        case .vector(let samples): samples
        }
    }
}
