import Collector
import OpsightMetrics
import Synchronization

/// The cells of the rollup commits this store made, kept until its change feed's next poll finds their entries, so
/// that the long window cache of the same process takes them from here instead of reading their rows back.
///
/// A collector's durable store and its long window cache are one ``PostgresDurableStore``: every commit came back to
/// it through the change log, and reading those rows (`streamCells` for the commits' positions) was ~7 % of the
/// collector's CPU shipping a file of the last hour (perf, docs/benchmarks.md) for cells it held a moment before — the
/// same waste ``OwnChanges`` removed for Redis. A commit registers the delta it wrote (after queue-wait pairing) inside
/// its transaction, so no snapshot sees the entry before the cells are here, and withdraws it if the transaction
/// fails. A poll takes a commit's cells by (collector, position) and reads the rows of the others (other collectors,
/// commits let go for the byte cap); an entry at or before a cursor the poll returns can never be asked for again and
/// is dropped.
final class OwnRollups: Sendable {
    private struct Key: Hashable, Sendable {
        var collector: String
        var position: Int64
    }

    private struct State: Sendable {
        var cells: [Key: (delta: Delta, bytes: Int)] = [:]
        var order: [Key] = []
        var bytes = 0
        var followed = true
    }

    private let state = Mutex(State())
    /// The most kept, estimated (``Delta/estimatedBytes``); past it the oldest commits are let go. Above the durable
    /// lane's commits (up to its pending cap, 24 MB): at 16 MB a shipment's commits were never kept, and the cache
    /// read their rows back — a second copy of every cell, the collector's peak RSS (page faults, perf).
    let maxBytes: Int

    /// Signalled when the commits kept pass a quarter of ``maxBytes``: the long window cache polls then rather than
    /// at its next refresh (``WindowCache/Configuration/wake``), so they are kept for a moment only.
    let wake = WakeSignal()

    init(maxBytes: Int = 48 << 20) { self.maxBytes = maxBytes }

    /// Whether a reader follows the change feed (its polls take and drop what is kept). Nothing is kept while none
    /// does: a collector whose windows all end within the hour has no long window cache, and its commits would sit
    /// here, never polled, up to ``maxBytes``.
    var isFollowed: Bool {
        get { state.withLock { $0.followed } }
        set {
            state.withLock { s in
                s.followed = newValue
                if !newValue { s = State(followed: false) }
            }
        }
    }

    /// Keeps the cells of `delta` (its facts and funnel steps are not change-feed cells) as committed by `collector`
    /// at `position`.
    func register(_ delta: Delta, collector: String, position: Int64) {
        var cells = delta
        cells.jobFacts = []
        cells.funnelSteps = []
        let bytes = cells.estimatedBytes
        guard bytes <= maxBytes else { return }
        let key = Key(collector: collector, position: position)
        state.withLock { s in
            guard s.followed else { return }
            if let old = s.cells.removeValue(forKey: key) { s.bytes -= old.bytes }
            while s.bytes + bytes > maxBytes, !s.order.isEmpty {
                let oldest = s.order.removeFirst()
                if let gone = s.cells.removeValue(forKey: oldest) { s.bytes -= gone.bytes }
            }
            s.cells[key] = (cells, bytes)
            s.order.append(key)
            s.bytes += bytes
            if s.bytes > maxBytes / 4 { wake.signal() }
        }
    }

    /// Forgets the commit of `collector` at `position`: its transaction did not commit (or its answer was lost).
    func withdraw(collector: String, position: Int64) {
        let key = Key(collector: collector, position: position)
        state.withLock { s in
            if let gone = s.cells.removeValue(forKey: key) { s.bytes -= gone.bytes }
        }
    }

    /// The cells of the commit of `collector` at `position`, forgotten here; nil when they are not kept.
    func take(collector: String, position: Int64) -> Delta? {
        let key = Key(collector: collector, position: position)
        return state.withLock { s in
            guard let kept = s.cells.removeValue(forKey: key) else { return nil }
            s.bytes -= kept.bytes
            return kept.delta
        }
    }

    /// Drops every commit at or before `positions[collector]`: a poll returned a cursor past them.
    func forget(through positions: [String: Int64]) {
        state.withLock { s in
            var kept: [Key] = []
            for key in s.order {
                if let seen = positions[key.collector], key.position <= seen {
                    if let gone = s.cells.removeValue(forKey: key) { s.bytes -= gone.bytes }
                } else if s.cells[key] != nil {
                    kept.append(key)  // keys taken or withdrawn leave the order here too
                }
            }
            s.order = kept
        }
    }

    /// How many commits are kept.
    var count: Int { state.withLock { $0.cells.count } }
}
