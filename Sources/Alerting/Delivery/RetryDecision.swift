/// What to do after a delivery attempt.
public enum RetryDecision: Hashable, Sendable {
    /// Delivered; nothing more to do.
    case done
    /// Try again at this time (unix ms).
    case retry(at: Int64)
    /// Stop and record the failure, with the reason.
    case giveUp(reason: String)
}
