/// One funnel step done by one entity at one time: what ingest records for funnels and the stores keep.
///
/// Funnel progress is kept as these facts rather than as counters, because the numbers of a window depend on
/// which attempts start in it and which events come before its end (SPEC §5): they are computed from the facts
/// when asked. As a set they are idempotent — a replayed batch, a retried flush or two collectors receiving
/// the same event all leave one record — which is what makes funnels exact across crashes and collectors.
public struct FunnelStepRecord: Hashable, Sendable {
    /// The funnel's ``FunnelDefinition/storageName`` (its name and a fingerprint of its steps).
    public var funnel: String
    /// The step, 0-based.
    public var step: Int
    /// Who did it (the funnel's key field).
    public var entity: String
    /// When, unix milliseconds.
    public var timestampMs: Int64

    /// Creates the record.
    public init(funnel: String, step: Int, entity: String, timestampMs: Int64) {
        self.funnel = funnel
        self.step = step
        self.entity = entity
        self.timestampMs = timestampMs
    }
}

/// Where committed funnel step records can be read back by time.
public protocol FunnelStepStore: Sendable {
    /// The records of `funnel` with times in `(afterMs, throughMs]`.
    func funnelSteps(funnel: String, afterMs: Int64, throughMs: Int64) async throws -> [FunnelStepRecord]
}
