import Synchronization

/// A hot store that can lose what it holds — a Redis without persistence that restarted empty, or one that failed
/// over to a replica lacking the last writes — marked with an *epoch* so that collectors notice, and loadable again
/// (docs/hot-store-loss.md).
///
/// Every guarded commit checks, atomically with its writes, that the store still holds the epoch the collector
/// works in and at least the position the collector last committed there; a store that lost data fails one of the
/// two and takes nothing. One collector at a time rebuilds, under a lock that names the new epoch.
public protocol HotEpochStore: MetricsStore {
    /// Commits `delta` up to `position` when the store holds what `expecting` says; takes nothing otherwise.
    func commit(_ delta: Delta, position: UInt64, collector: String, expecting: HotExpectation) async throws
        -> GuardedCommit
    /// The store's epoch, the rebuild under way (if any) and `collector`'s position.
    func epochState(collector: String) async throws -> HotEpochState
    /// Takes the rebuild lock for `epoch` (nothing when another rebuild holds it) and withdraws the current epoch,
    /// so that no commit lands until the rebuild is done; true when taken.
    func lockRebuild(epoch: String, holder: String, ttlMs: Int64) async throws -> Bool
    /// Removes every key of the store but the lock (the rebuild starts from nothing).
    func clearForRebuild(epoch: String) async throws
    /// Adds cells, funnel records and job facts as they are (no pairing, no change feed, no position) and renews the
    /// lock; throws when the lock is no longer `epoch`'s.
    func loadForRebuild(_ delta: Delta, epoch: String, ttlMs: Int64) async throws
    /// Sets every collector's position and the epoch, and releases the lock — when it still is `epoch`'s.
    func finishRebuild(epoch: String, positions: [String: UInt64]) async throws -> Bool
    /// Releases the lock when it is `epoch`'s (a rebuild that failed half way).
    func releaseRebuild(epoch: String) async throws
}

/// What a guarded commit expects the hot store to hold.
public struct HotExpectation: Sendable, Equatable {
    /// The epoch the collector works in; nil matches no store (a store without an epoch was never loaded).
    public var epoch: String?
    /// The position the collector last committed: the store must hold at least that.
    public var position: UInt64
    /// Creates the expectation.
    public init(epoch: String?, position: UInt64) {
        self.epoch = epoch
        self.position = position
    }
}

/// What a guarded commit did.
public enum GuardedCommit: Sendable, Equatable {
    /// The delta is in.
    case committed
    /// The store already held the position (an earlier attempt landed, its answer lost): nothing was added.
    case alreadyHeld
    /// The store is not what the collector expects: it lost data, or was rebuilt. Nothing was added.
    case lost(String)
}

/// A hot store's epoch, rebuild lock and one collector's position, read together.
public struct HotEpochState: Sendable, Equatable {
    /// The epoch; nil while the store has none (lost, or being rebuilt).
    public var epoch: String?
    /// The epoch being built, when a rebuild holds the lock.
    public var rebuilding: String?
    /// The position the store records for the collector asked about.
    public var position: UInt64
    /// Why the store, although it holds the epoch, lost some of what the collector committed in it (a Redis Cluster
    /// shard that failed over to a replica lacking the last writes); nil when nothing was found missing.
    public var lost: String?
    /// Creates the state.
    public init(epoch: String?, rebuilding: String?, position: UInt64, lost: String? = nil) {
        self.epoch = epoch
        self.rebuilding = rebuilding
        self.position = position
        self.lost = lost
    }
}

/// The durable store's part in a hot-store rebuild: it records the hot epoch, fences its own commits with it, and
/// hands out the snapshot a rebuild loads.
public protocol HotEpochSource: MetricsStore {
    /// Commits like ``MetricsStore/commit(_:position:collector:)`` while the recorded hot epoch is `hotEpoch`;
    /// throws ``HotEpochFenced`` (having added nothing) once another epoch was started.
    func commit(_ delta: Delta, position: UInt64, collector: String, hotEpoch: String?) async throws
    /// The hot epoch last started and every collector's position at that moment; nil before the first.
    func hotEpoch() async throws -> HotEpochRecord?
    /// Starts hot epoch `epoch` and hands `sink` the snapshot to load, in parts: the cells of `minutes`, the funnel
    /// records after `funnelStepsAfterMs` and the job facts after `jobFactsAfterMs`, all as of one instant at which
    /// no commit is under way. Returns every collector's position at that instant, also recorded with the epoch.
    /// Commits fenced with an older epoch are refused from then on.
    func startHotEpoch(
        _ epoch: String, minutes: ClosedRange<Int64>, funnelStepsAfterMs: Int64, jobFactsAfterMs: Int64,
        sink: @Sendable (Delta) async throws -> Void
    ) async throws -> [String: UInt64]
}

/// A hot epoch as the durable store recorded it.
public struct HotEpochRecord: Sendable, Equatable {
    public var epoch: String
    /// Each collector's durable position when the epoch started: the hot store was loaded with everything up to it.
    public var positions: [String: UInt64]
    /// Creates the record.
    public init(epoch: String, positions: [String: UInt64]) {
        self.epoch = epoch
        self.positions = positions
    }
}

/// A durable commit refused because the hot store was rebuilt since the collector last looked: the collector must
/// first take the new epoch (``HotStoreRecovery``).
public struct HotEpochFenced: Error, Sendable, CustomStringConvertible {
    /// The epoch the durable store records.
    public var current: String?
    /// Creates the error.
    public init(current: String?) { self.current = current }
    public var description: String { "the hot store was rebuilt (epoch \(current ?? "none")); take the new epoch first" }
}

/// Lets readers of a hot store report what they saw, so a lost store is noticed between flushes too.
public final class HotEpochSignal: Sendable {
    private let suspect = Mutex(false)

    /// Creates the signal.
    public init() {}

    /// A read found the store's epoch to be `epoch` (nil: missing).
    public func observed(epoch: String?) {
        if epoch == nil { suspect.withLock { $0 = true } }
    }

    /// Something other than a read (a Redis Cluster failing over) says the store may have lost data: look soon.
    public func suspectLoss() { suspect.withLock { $0 = true } }

    /// Whether a read saw the epoch missing since the last call.
    public func takeSuspicion() -> Bool { suspect.withLock { s in defer { s = false }; return s } }
}
