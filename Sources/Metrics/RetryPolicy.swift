/// Exponential backoff with jitter, one policy for everything that retries: the emitter's batches, `opsight ship`,
/// `opsight serve` waiting for its stores, and alert delivery (through `DeliveryRetry`).
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per batch, the first included; then the batch is dropped and counted as failed.
    public var maxAttempts: Int
    /// The wait before the second attempt (before jitter).
    public var initialBackoff: Duration
    /// The longest wait between attempts (before jitter).
    public var maxBackoff: Duration
    /// The factor by which the wait grows after each failed attempt.
    public var multiplier: Double
    /// The fraction of each wait that is random: 0.5 waits between half and all of the backoff.
    public var jitter: Double
    /// The longest `Retry-After` honoured; a server asking for more is retried after this.
    public var maxRetryAfter: Duration

    /// Creates a policy; the defaults retry for about five minutes before giving a batch up.
    public init(
        maxAttempts: Int = 12,
        initialBackoff: Duration = .milliseconds(250),
        maxBackoff: Duration = .seconds(60),
        multiplier: Double = 2,
        jitter: Double = 0.5,
        maxRetryAfter: Duration = .seconds(300)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
        self.maxRetryAfter = maxRetryAfter
    }

    /// The wait after failed attempt number `attempt` (1-based), given a random value in 0..<1.
    ///
    /// The server's `retryAfter` is a floor: it knows when it will have room, the backoff only guesses.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?, random: Double) -> Duration {
        let exponent = Double(max(attempt - 1, 0))
        let grown = Self.seconds(initialBackoff) * Self.power(multiplier, exponent)
        let capped = min(grown, Self.seconds(maxBackoff))
        let jittered = capped * (1 - jitter * random)
        var wait = Duration.milliseconds(Int64((jittered * 1000).rounded()))
        if let retryAfter { wait = max(wait, min(retryAfter, maxRetryAfter)) }
        return wait
    }

    /// A duration in seconds as a `Double`.
    static func seconds(_ d: Duration) -> Double {
        let (seconds, attoseconds) = d.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// `base` raised to a non-negative whole `exponent`, saturating (no Foundation `pow` needed).
    private static func power(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        var n = 0.0
        while n < exponent && result < 1e12 {
            result *= base
            n += 1
        }
        return result
    }
}
