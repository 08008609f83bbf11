extension Evaluator {
    /// Evaluates a binary expression between scalars and/or vectors.
    /// With `keeping` a vector matching's results have only those of their labels (for a caller that reads no
    /// others).
    func binary(_ node: BinaryExpr, at time: EvaluationTime, keeping: [String]? = nil) async throws -> Value {
        // Both sides are fetched concurrently; the left side's error, if any, wins.
        async let left = value(of: node.lhs, at: time)
        async let right = value(of: node.rhs, at: time)
        let (lhs, rhs) = try await (left, right)
        switch (lhs, rhs) {
        case (.scalar(let left), .scalar(let right)):
            let (value, keep) = Self.apply(node.op, left, right)
            return .scalar(node.op.isComparison ? (keep ? 1 : 0) : value)
        case (.vector(let samples), .scalar(let scalar)):
            return .vector(try Self.vectorScalar(node, samples, scalar, scalarOnLeft: false))
        case (.scalar(let scalar), .vector(let samples)):
            return .vector(try Self.vectorScalar(node, samples, scalar, scalarOnLeft: true))
        case (.vector(let left), .vector(let right)):
            // Both produce distinct label sets by construction: one-to-one results are labelled by their
            // (unique) match group, set operations keep distinct input samples.
            return .vector(
                node.op.isSetOperator
                    ? Self.setOperation(node.op, left, right, node.effectiveMatching)
                    : try Self.oneToOne(node, left, right, keeping: keeping))
        }
    }

    /// Prometheus's `vectorElemBinop`: the arithmetic result, or for comparisons the left value and
    /// whether the comparison holds.
    static func apply(_ op: BinaryOperator, _ left: Double, _ right: Double) -> (value: Double, keep: Bool) {
        switch op {
        case .add: (left + right, true)
        case .subtract: (left - right, true)
        case .multiply: (left * right, true)
        case .divide: (left / right, true)
        case .modulo: (GoMath.mod(left, right), true)
        case .power: (GoMath.pow(left, right), true)
        case .equal: (left, left == right)
        case .notEqual: (left, left != right)
        case .greater: (left, left > right)
        case .less: (left, left < right)
        case .greaterOrEqual: (left, left >= right)
        case .lessOrEqual: (left, left <= right)
        case .and, .or, .unless: (left, true)
        }
    }

    /// A vector against a scalar: arithmetic drops the metric name; a comparison filters and keeps
    /// the vector's value and name, or with `bool` yields 0/1 without the name.
    static func vectorScalar(
        _ node: BinaryExpr, _ samples: [Sample], _ scalar: Double, scalarOnLeft: Bool
    ) throws(PromQLError) -> [Sample] {
        let dropName = node.op.isArithmetic || node.returnsBool
        let result: [Sample] = samples.compactMap { sample in
            var (value, keep) =
                scalarOnLeft ? apply(node.op, scalar, sample.value) : apply(node.op, sample.value, scalar)
            if node.op.isComparison && scalarOnLeft { value = sample.value }
            if node.returnsBool {
                value = keep ? 1 : 0
                keep = true
            }
            guard keep else { return nil }
            return Sample(labels: dropName ? sample.labels.droppingMetricName() : sample.labels, value: value)
        }
        if dropName { try requireDistinct(result, from: samples, at: node.operatorPosition) }
        return result
    }
}
