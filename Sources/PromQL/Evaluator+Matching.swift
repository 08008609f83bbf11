extension Evaluator {
    /// One-to-one matching of two vectors for arithmetic and comparisons, as Prometheus's
    /// `VectorBinop`: samples pair up by their matching labels; the right side must have at most one
    /// sample per match group, and each group may produce at most one result.
    static func oneToOne(_ node: BinaryExpr, _ lhs: [Sample], _ rhs: [Sample]) throws(PromQLError) -> [Sample] {
        guard !lhs.isEmpty, !rhs.isEmpty else { return [] }
        let matching = node.effectiveMatching
        var right: [Labels: Sample] = [:]
        for sample in rhs {
            let signature = matching.signature(of: sample.labels)
            if let duplicate = right[signature] {
                throw PromQLError(
                    .execution,
                    "found duplicate series for the match group \(signature) on the right hand-side of the operation: "
                        + "[\(sample.labels), \(duplicate.labels)];many-to-many matching not allowed: "
                        + "matching labels must be unique on one side",
                    at: node.operatorPosition)
            }
            right[signature] = sample
        }
        var matched = Set<Labels>()
        var result: [Sample] = []
        for sample in lhs {
            let signature = matching.signature(of: sample.labels)
            guard let other = right[signature] else { continue }
            var (value, keep) = apply(node.op, sample.value, other.value)
            if node.returnsBool {
                value = keep ? 1 : 0
            } else if !keep {
                continue
            }
            guard matched.insert(signature).inserted else {
                throw PromQLError(
                    .execution,
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    at: node.operatorPosition)
            }
            result.append(Sample(labels: resultLabels(sample.labels, node, matching), value: value))
        }
        return result
    }

    /// The left sample's labels without the metric name for arithmetic and `bool`, reduced to the
    /// `on` labels or without the `ignoring` labels.
    private static func resultLabels(_ labels: Labels, _ node: BinaryExpr, _ matching: VectorMatching) -> Labels {
        var result = node.op.isArithmetic || node.returnsBool ? labels.droppingMetricName() : labels
        switch matching.mode {
        case .on: result = result.keeping(names: matching.labels)
        case .ignoring: result = result.removing(names: matching.labels)
        }
        return result
    }

    /// `and`, `or`, `unless` (many-to-many), keeping the samples' own labels and values.
    static func setOperation(
        _ op: BinaryOperator, _ lhs: [Sample], _ rhs: [Sample], _ matching: VectorMatching
    ) -> [Sample] {
        switch op {
        case .and:
            guard !lhs.isEmpty, !rhs.isEmpty else { return [] }
            let right = Set(rhs.map { matching.signature(of: $0.labels) })
            return lhs.filter { right.contains(matching.signature(of: $0.labels)) }
        case .unless:
            guard !lhs.isEmpty, !rhs.isEmpty else { return lhs }
            let right = Set(rhs.map { matching.signature(of: $0.labels) })
            return lhs.filter { !right.contains(matching.signature(of: $0.labels)) }
        default:
            guard !lhs.isEmpty else { return rhs }
            guard !rhs.isEmpty else { return lhs }
            let left = Set(lhs.map { matching.signature(of: $0.labels) })
            return lhs + rhs.filter { !left.contains(matching.signature(of: $0.labels)) }
        }
    }
}
