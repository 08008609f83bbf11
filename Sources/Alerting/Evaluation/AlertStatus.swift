/// Whether an alert (or a notification) is firing or resolved.
public enum AlertStatus: String, Hashable, Sendable, Codable {
    /// Still active.
    case firing
    /// Ended.
    case resolved
}
