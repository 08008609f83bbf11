/// What `GET /readyz` answers: whether this collector can take ingest and get it into both stores.
///
/// The answer is unauthenticated, so it says what is wrong in fixed words and numbers only: a driver's error
/// text names hosts, users and SQL, and stays in the log and the authenticated status.
public struct Readiness: Sendable, Equatable {
    /// True when both stores answer and take commits, the hot store holds its data (it is not being rebuilt), and
    /// the write-ahead log has room.
    public var ready: Bool
    /// True when ingest is taken: the write-ahead log has room. A store that is away, failing over or being rebuilt
    /// does not stop ingest (the log holds it and catches the store up), so a load balancer in front of ingest checks
    /// this (`GET /readyz/ingest`) rather than ``ready``, and keeps every collector in while a store recovers.
    public var ingestReady: Bool
    /// Per check (`redis`, `postgres`, `wal`): `ok` or what is wrong.
    public var checks: [String: String]
    /// Deltas and raw events quarantined since start (the flush moved on; the data is in the quarantine file).
    public var quarantinedDeltas: UInt64
    public var quarantinedRawEvents: UInt64
}

extension IngestPipeline {
    /// Readiness from the pings just made and the flush loops' own outcome (a store can answer a ping and
    /// still refuse every commit).
    public func readiness(hotReachable: Bool, durableReachable: Bool) -> Readiness {
        func store(reachable: Bool, committing: Bool, errors: UInt64) -> String {
            if !reachable { return "unreachable" }
            return committing ? "ok" : "commits failing (\(errors) failed commits so far)"
        }
        let backlog = walBacklogBytes
        let walOK = backlog <= configuration.walMaxBytes
        var redis = store(
            reachable: hotReachable, committing: status.hotUp.load(ordering: .relaxed),
            errors: status.hotErrors.load(ordering: .relaxed))
        // A store that answers but lost its data serves short windows until it is rebuilt: not ready either.
        switch status.hotState {
        case .ok: break
        case .lost: if redis == "ok" { redis = "lost its data; rebuild pending" }
        case .rebuilding: if redis == "ok" { redis = "rebuilding" }
        }
        let checks = [
            "redis": redis,
            "postgres": store(
                reachable: durableReachable, committing: status.durableUp.load(ordering: .relaxed),
                errors: status.durableErrors.load(ordering: .relaxed)),
            "wal": walOK ? "ok" : "full (\(backlog) bytes not yet in the stores)",
        ]
        return Readiness(
            ready: checks.values.allSatisfy { $0 == "ok" }, ingestReady: walOK, checks: checks,
            quarantinedDeltas: status.quarantinedDeltas.load(ordering: .relaxed),
            quarantinedRawEvents: status.quarantinedRawEvents.load(ordering: .relaxed))
    }
}
