/// Where a silence is in its life, computed from the time.
public enum SilenceState: String, Hashable, Sendable, Codable, CaseIterable {
    /// Starts in the future.
    case pending
    /// Mutes matching alerts now.
    case active
    /// Ended.
    case expired
}
