import OpsightMetrics

/// When notification delivery tries again: the shared `RetryPolicy` (exponential backoff with jitter, a
/// `Retry-After` as a floor) for the delay, and a give-up once the next attempt would be later than
/// `maxRetryDuration` after the first.
public struct DeliveryRetry: Hashable, Sendable {
    /// The backoff between attempts.
    public var backoff: RetryPolicy
    /// How long after the first attempt to keep trying, ms (`max_retry_duration`).
    public var maxRetryDuration: Int64

    /// Creates the policy; defaults: 1 s initial, ×2, 5 min cap, up to 20 % shorter at random, give up after 1 h.
    public init(
        initialBackoff: Int64 = 1000, multiplier: Double = 2, maxBackoff: Int64 = 300_000, jitter: Double = 0.2,
        maxRetryDuration: Int64 = 3_600_000
    ) {
        backoff = RetryPolicy(
            maxAttempts: .max, initialBackoff: .milliseconds(initialBackoff), maxBackoff: .milliseconds(maxBackoff),
            multiplier: multiplier, jitter: jitter, maxRetryAfter: .milliseconds(maxRetryDuration))
        self.maxRetryDuration = maxRetryDuration
    }

    /// The delay before retry `attempt` (1-based), ms, honouring a `Retry-After` of `retryAfterSeconds`.
    public func delay(attempt: Int, retryAfterSeconds: Int64? = nil, using random: inout some RandomNumberGenerator)
        -> Int64
    {
        let wait = backoff.delay(
            afterAttempt: attempt, retryAfter: retryAfterSeconds.map { .seconds($0) },
            random: Double.random(in: 0..<1, using: &random))
        return wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000
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
            var retryAfter: Int64?
            if case .response(_, let seconds?) = outcome { retryAfter = seconds }
            let next = now + delay(attempt: attempt, retryAfterSeconds: retryAfter, using: &random)
            guard next <= firstAttemptAt + maxRetryDuration else {
                return .giveUp(reason: "gave up after \(attempt) attempts: max_retry_duration exceeded")
            }
            return .retry(at: next)
        }
    }
}
