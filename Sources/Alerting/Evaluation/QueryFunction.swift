import PromQL

/// Evaluates an expression at a time (unix ms): the seam between rule evaluation and storage.
public typealias QueryFunction = @Sendable (Expr, Int64) async throws -> Value
