/// Evaluates expressions of Opsight's PromQL subset at a given time, exactly as Prometheus would
/// for an instant query, over the series a `SampleSource` provides.
///
/// The evaluator never reads the clock: the caller passes the evaluation time.
public struct Evaluator: Sendable {
    /// Where series come from.
    public let source: any SampleSource
    /// What one evaluation may use.
    public let limits: QueryLimits
    let budget: SeriesBudget

    /// Creates an evaluator over `source`; each evaluation (each step of a range) may select at most
    /// `limits.maxSeries` series.
    public init(source: any SampleSource, limits: QueryLimits = .unlimited) {
        self.source = source
        self.limits = limits
        self.budget = SeriesBudget(limit: limits.maxSeries)
    }

    /// Evaluates `expr` at `time`; a vector result is sorted by labels.
    ///
    /// Throws `PromQLError` (code `.execution`) for Prometheus's evaluation errors, `.limit` past the series cap,
    /// `CancellationError` once cancelled (see `QueryDeadline`), and whatever the source throws.
    public func evaluate(_ expr: Expr, at time: EvaluationTime) async throws -> Value {
        switch try await value(of: expr, at: time) {
        case .scalar(let value): .scalar(value)
        case .vector(let samples): .vector(samples.sorted { $0.labels < $1.labels })
        }
    }

    /// Evaluates `expr` at the given time `time` (unix ms, not "now").
    public func evaluate(_ expr: Expr, at time: Int64) async throws -> Value {
        try await evaluate(expr, at: .at(time))
    }

    /// Parses and evaluates `query` at `time` (unix ms).
    public func evaluate(_ query: String, at time: Int64) async throws -> Value {
        try await evaluate(try Parser.parse(query), at: .at(time))
    }

    /// The value of any sub-expression.
    func value(of expr: Expr, at time: EvaluationTime) async throws -> Value {
        try Task.checkCancellation()
        switch expr {
        case .number(let node):
            return .scalar(node.value)
        case .paren(let node):
            return try await value(of: node.inner, at: time)
        case .selector(let node):
            let (samples, known) = try await source.selectOrdered(node.allMatchers, at: time)
            try budget.spend(samples.count, at: node.position)
            // Sorted so that results, float rounding and error messages never depend on the source's order.
            func isSorted() -> Bool {
                samples.indices.dropFirst().allSatisfy { samples[$0 - 1].labels < samples[$0].labels }
            }
            assert(!known || isSorted(), "a source said its samples were in label order and they were not")
            return .vector(known || isSorted() ? samples : samples.sorted { $0.labels < $1.labels })
        case .unary(let node):
            return try await unary(node, at: time)
        case .binary(let node):
            return try await binary(node, at: time)
        case .aggregation(let node):
            // An aggregation `by` some labels (none: no clause, `by ()`) reads only those of its argument: a vector
            // matching's results then get only those (building each result's labels, and freeing them, was half of
            // `count(a >= ignoring(quantile) b)` at 10 000 series). Values, their order and the groups are the same.
            let read: [String]? =
                switch node.grouping?.mode {
                case nil: []
                case .by: node.grouping?.labels
                case .without: nil
                }
            if let read, case .binary(let argument) = node.argument.unwrapped {
                let samples = try await binary(argument, at: time, keeping: read).asVector
                return .vector(Self.aggregate(samples, node.op, node.grouping))
            }
            return .vector(Self.aggregate(try await vector(of: node.argument, at: time), node.op, node.grouping))
        case .call(let node):
            return .vector(try await call(node, at: time))
        }
    }

    /// The samples of an expression the parser has checked to be a vector.
    func vector(of expr: Expr, at time: EvaluationTime) async throws -> [Sample] {
        try await value(of: expr, at: time).asVector
    }

    private func unary(_ node: UnaryExpr, at time: EvaluationTime) async throws -> Value {
        let operand = try await value(of: node.operand, at: time)
        guard node.op == .minus else { return operand }
        switch operand {
        case .scalar(let value):
            return .scalar(-value)
        case .vector(let samples):
            let negated = samples.map { Sample(labels: $0.labels.droppingMetricName(), value: -$0.value) }
            try Self.requireDistinct(negated, from: samples, at: node.position)
            return .vector(negated)
        }
    }

    /// Prometheus's check that dropping metric names did not make two series identical.
    ///
    /// Only needed where names were dropped from distinct `input` samples: if they all had the same
    /// name (or none), dropping it cannot make two of them equal.
    static func requireDistinct(
        _ result: [Sample], from input: [Sample], at position: SourcePosition
    ) throws(PromQLError) {
        let first = input.first?.labels.name
        guard input.contains(where: { $0.labels.name != first }) else { return }
        var seen = Set<Labels>()
        for sample in result where !seen.insert(sample.labels).inserted {
            throw PromQLError(.execution, "vector cannot contain metrics with the same labelset", at: position)
        }
    }
}

extension Evaluator {
    /// The series `matchers` select at `time`, counted against this evaluator's series budget (the metadata
    /// endpoints' `match[]`).
    public func select(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> [Sample] {
        try Task.checkCancellation()
        let samples = try await source.select(matchers, at: time)
        try budget.spend(samples.count, at: .start)
        return samples
    }
}
