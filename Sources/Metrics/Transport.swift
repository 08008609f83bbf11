/// Where an ``OpsightEmitter`` delivers its batches: the collector over HTTP, stdout for a sidecar, a test double.
///
/// A transport makes one attempt per call; the emitter owns retries, backoff and dropping. Throwing
/// means the attempt failed in a way that may succeed later (a network error) and is retried.
public protocol Transport: Sendable {
    /// Sends one batch: `body` is NDJSON, `lineCount` complete lines each ending in a newline.
    func send(body: [UInt8], lineCount: Int) async throws -> TransportOutcome
}

/// What became of one delivery attempt.
public enum TransportOutcome: Sendable, Equatable {
    /// The batch was taken: `accepted` lines stored, `rejected` lines refused one by one (bad lines).
    case delivered(accepted: Int, rejected: Int)
    /// Nothing was taken but a later attempt may succeed (408, 429, 5xx, a network error);
    /// `after` is the server's `Retry-After`, when it sent one.
    case retry(after: Duration?, reason: String)
    /// Nothing was taken and retrying cannot help (a 4xx other than 408 and 429): the batch is dropped.
    case permanent(reason: String)
}
