import OpsightMetrics
import Synchronization

/// What one query may use (SPEC §7): series per evaluation step, and time, enforced by `QueryDeadline.run`.
public struct QueryLimits: Sendable {
    /// Most series the selectors of one evaluation (one step of a range query) may return together.
    public var maxSeries: Int
    /// Longest a query may run.
    public var timeout: Duration
    /// Most points per series of a range query.
    public var maxPoints: Int64

    /// Creates the limits; the defaults are SPEC's.
    public init(maxSeries: Int = 50_000, timeout: Duration = .seconds(30), maxPoints: Int64 = 11_000) {
        self.maxSeries = maxSeries
        self.timeout = timeout
        self.maxPoints = maxPoints
    }

    /// No series cap (alert rules and tests); time is still bounded by the caller.
    public static let unlimited = QueryLimits(maxSeries: .max, timeout: .seconds(3600))
}

/// The series one evaluation has selected so far, against its cap.
final class SeriesBudget: Sendable {
    private let limit: Int
    private let used = Mutex(0)

    init(limit: Int) { self.limit = limit }

    /// Counts `count` more series; throws `.limit` once the total passes the cap.
    func spend(_ count: Int, at position: SourcePosition) throws(PromQLError) {
        let total = used.withLock { used in
            used += count
            return used
        }
        guard total <= limit else {
            throw PromQLError(
                .limit,
                "the query selects more than \(limit) series; narrow its selectors (service, route, window, quantile)",
                at: position)
        }
    }
}

/// Runs queries under a deadline that really stops them.
public enum QueryDeadline {
    /// Runs `body`, cancelling it once `timeout` passes and answering `.timeout` then. The evaluator and sample
    /// sources check for cancellation between store reads and steps, so the work stops soon after.
    public static func run<T: Sendable>(
        timeout: Duration, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await Deadline.run(timeout, expired: {
            PromQLError(
                .timeout,
                "the query ran longer than \(timeout.components.seconds)s and was stopped; narrow the selectors, "
                    + "the range or the windows",
                at: .start)
        }, body)
    }
}
