/// How an endpoint answers errors.
public enum ErrorShape: Sendable {
    /// SPEC §7: `{"error": {"code", "message", "details", "request_id"}}`.
    case ops
    /// Prometheus's `{"status": "error", "errorType", "error"}`, for the Prometheus-compatible endpoints.
    case prometheus
}
