/// What happened when a notification was posted, as the HTTP layer reports it.
public enum DeliveryOutcome: Hashable, Sendable {
    /// An HTTP response; `retryAfter` is the `Retry-After` header in seconds, if any.
    case response(status: Int, retryAfter: Int64? = nil)
    /// No response: connection refused, timeout, TLS failure …
    case networkError(String)

    /// How the outcome counts for retrying.
    public var classification: DeliveryClassification {
        switch self {
        case .networkError: .retryable
        case .response(let status, _):
            switch status {
            case 200..<300: .delivered
            case 429, 500..<600: .retryable
            default: .permanent
            }
        }
    }

    /// The `outcome` label of `opsight_notifications_total`.
    public var label: String {
        switch classification {
        case .delivered: "sent"
        case .retryable: "retry"
        case .permanent: "failed"
        }
    }
}

/// Whether a delivery succeeded, may succeed later, or never will.
public enum DeliveryClassification: Hashable, Sendable {
    /// 2xx.
    case delivered
    /// Network error, 5xx or 429: try again.
    case retryable
    /// Any other status (4xx, 3xx …): retrying will not help.
    case permanent
}
