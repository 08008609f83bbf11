/// What a token may do; every API route belongs to exactly one scope (or is deliberately open).
public enum Scope: String, Sendable, CaseIterable {
    /// `POST /v1/ingest`.
    case ingest
    /// Every read endpoint: the ops API, the Prometheus-compatible API, `/metrics`, alert and event listings.
    case read
    /// Changes: silences, rule reloads.
    case admin
}
