/// Exponential backoff with jitter for notification delivery: the delay before retry `n` (1-based)
/// is `min(initial × multiplier^(n-1), max)` scaled by a random factor in `[1 − jitter, 1 + jitter]`;
/// a `Retry-After` asks for at least that long; delivery gives up once the next attempt would be
/// later than `maxRetryDuration` after the first.
public struct RetryPolicy: Hashable, Sendable {
    /// The first delay, ms.
    public var initialBackoff: Int64
    /// Growth per attempt.
    public var multiplier: Double
    /// The longest delay, ms.
    public var maxBackoff: Int64
    /// Randomisation: 0.5 means ±50 %.
    public var jitter: Double
    /// How long after the first attempt to keep trying, ms (`max_retry_duration`).
    public var maxRetryDuration: Int64

    /// Creates a policy; defaults: 1 s initial, ×2, 5 min cap, ±20 %, give up after 1 h.
    public init(
        initialBackoff: Int64 = 1000, multiplier: Double = 2, maxBackoff: Int64 = 300_000, jitter: Double = 0.2,
        maxRetryDuration: Int64 = 3_600_000
    ) {
        self.initialBackoff = initialBackoff
        self.multiplier = multiplier
        self.maxBackoff = maxBackoff
        self.jitter = jitter
        self.maxRetryDuration = maxRetryDuration
    }

    /// The delay before retry `attempt` (1-based), ms, using `random` for the jitter.
    public func backoff(attempt: Int, using random: inout some RandomNumberGenerator) -> Int64 {
        let exponential = Double(initialBackoff) * pow(multiplier, Double(max(attempt - 1, 0)))
        let capped = min(exponential, Double(maxBackoff))
        let factor = jitter > 0 ? Double.random(in: (1 - jitter)...(1 + jitter), using: &random) : 1
        return Int64((capped * factor).rounded())
    }

    /// What to do after attempt number `attempt` (1-based) ended with `outcome` at `now`, the first
    /// attempt having been made at `firstAttemptAt` (unix ms).
    public func decide(
        after outcome: DeliveryOutcome, attempt: Int, firstAttemptAt: Int64, now: Int64,
        using random: inout some RandomNumberGenerator
    ) -> RetryDecision {
        switch outcome.classification {
        case .delivered:
            return .done
        case .permanent:
            if case .response(let status, _) = outcome { return .giveUp(reason: "permanent failure: HTTP \(status)") }
            return .giveUp(reason: "permanent failure")
        case .retryable:
            var delay = backoff(attempt: attempt, using: &random)
            if case .response(_, let retryAfter?) = outcome { delay = max(delay, retryAfter * 1000) }
            let next = now + delay
            guard next <= firstAttemptAt + maxRetryDuration else {
                return .giveUp(reason: "gave up after \(attempt) attempts: max_retry_duration exceeded")
            }
            return .retry(at: next)
        }
    }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= base }
        return result
    }
}
