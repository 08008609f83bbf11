import Collector
import OpsightMetrics
import Synchronization

/// The cells of the change records this process's collector committed, kept until the hot window cache of the same
/// process reads those records back from the feed, so that it takes them from here instead of decoding them.
///
/// Every commit comes back to its own collector through the change feed (``RedisHotStore/poll(after:buckets:)``):
/// shipping a file of the last hour, decoding those records' fields was ~11 % of the collector's CPU (perf,
/// docs/benchmarks.md) for cells it held in memory a moment before. A commit registers its deltas under a token that
/// the feed entry carries beside the record (field `o`), before its `EXEC`, so no poll can see the entry first; a
/// poll that finds a token here takes the cells, and decodes the record otherwise (another collector's entry, one
/// evicted, one whose commit failed). The token is unique to this registry, so another process never matches it.
///
/// Memory is bounded: past ``maxBytes`` (estimated as ``Delta/estimatedBytes``) the oldest commits are dropped and
/// their records decoded as before. A poll that takes an entry drops every one registered before it too: a
/// collector's commits enter the feed in the order they are registered.
public final class OwnChanges: Sendable {
    private struct Entry: Sendable {
        var token: String
        var deltas: [Delta]
        var bytes: Int
    }

    private struct State: Sendable {
        var entries: [Entry] = []
        var bytes = 0
        var next: UInt64 = 0
    }

    private let state = Mutex(State())
    private let prefix: String
    /// The most kept, estimated.
    public let maxBytes: Int

    /// Signalled when the commits kept pass a quarter of ``maxBytes``: the window cache reading them polls then
    /// rather than at its next second (``WindowCache/Configuration/wake``). Shipping a file of the last hour
    /// commits ~30 MB of cells a second, so a cache polling once a second found most of its own commits dropped and
    /// decoded their records instead (~5 % of the collector's samples until visible, perf, docs/benchmarks.md).
    public let wake = WakeSignal()

    /// An empty registry holding at most about `maxBytes` of cells.
    public init(maxBytes: Int = 24 << 20) {
        self.maxBytes = maxBytes
        prefix = String(UInt64.random(in: .min ... .max), radix: 16) + "-"
    }

    /// Keeps `deltas` (a commit's cells, added up) under a new token for the feed entry; nil when they alone exceed
    /// ``maxBytes``.
    func register(_ deltas: [Delta]) -> String? {
        let bytes = deltas.reduce(0) { $0 + $1.estimatedBytes }
        guard bytes <= maxBytes else { return nil }
        return state.withLock { s in
            while s.bytes + bytes > maxBytes, !s.entries.isEmpty { s.bytes -= s.entries.removeFirst().bytes }
            s.next += 1
            let token = prefix + String(s.next)
            s.entries.append(Entry(token: token, deltas: deltas, bytes: bytes))
            s.bytes += bytes
            if s.bytes > maxBytes / 4 { wake.signal() }
            return token
        }
    }

    /// Forgets the commit of `token`: its `EXEC` did not apply it (or its answer was lost).
    func withdraw(_ token: String) {
        state.withLock { s in
            guard let i = s.entries.firstIndex(where: { $0.token == token }) else { return }
            s.bytes -= s.entries.remove(at: i).bytes
        }
    }

    /// The deltas of the commit of `token`, whose cells ``ChangeRecord/decode(_:)`` gives by bucket from its record
    /// (nil: not here); forgets it and every commit registered before it.
    func take(_ token: String) -> [Delta]? {
        // What is forgotten is freed after the lock, not while a commit waits to register.
        let taken: [Entry] = state.withLock { s in
            guard let i = s.entries.firstIndex(where: { $0.token == token }) else { return [] }
            let taken = Array(s.entries[...i])
            for e in taken { s.bytes -= e.bytes }
            s.entries.removeSubrange(...i)
            return taken
        }
        return taken.last?.deltas
    }

    /// How many commits are kept.
    public var count: Int { state.withLock { $0.entries.count } }
}
