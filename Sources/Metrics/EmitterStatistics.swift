/// A snapshot of what an ``OpsightEmitter`` has done with the events it was given.
///
/// `emitted == delivered + failed + dropped + buffered + inFlight` at any instant the snapshot is taken
/// under the emitter's lock, where `delivered == accepted + rejected`.
public struct EmitterStatistics: Sendable, Equatable {
    /// Events given to the emitter, dropped ones included.
    public var emitted: Int
    /// Events dropped without a delivery attempt: the oldest when the buffer was full, or any emitted after shutdown.
    public var dropped: Int
    /// Events the collector stored.
    public var accepted: Int
    /// Events the collector refused one by one (it reported why in its response).
    public var rejected: Int
    /// Events of batches given up: a permanent error (4xx) or every retry failed.
    public var failed: Int
    /// Events that had to be shortened to fit the collector's line limit.
    public var truncated: Int
    /// Delivery attempts that were retried.
    public var retries: Int
    /// Events waiting in the buffer.
    public var buffered: Int
    /// Events taken by the run loop and not yet settled.
    public var inFlight: Int
    /// Why the last failed attempt failed, if any attempt ever failed.
    public var lastError: String?
}
