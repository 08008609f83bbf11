import Synchronization

/// Live counters of the collector's own health, read by `/metrics`, `/readyz` and the ingest backpressure.
public final class CollectorStatus: Sendable {
    /// Log position last committed to the hot store.
    public let hotPosition: Atomic<UInt64>
    /// Log position last committed to the durable store.
    public let durablePosition: Atomic<UInt64>
    /// Failed commits to the hot store.
    public let hotErrors = Atomic<UInt64>(0)
    /// Failed commits to the durable store.
    public let durableErrors = Atomic<UInt64>(0)
    /// Whether the last hot/durable commit succeeded.
    public let hotUp = Atomic<Bool>(true)
    public let durableUp = Atomic<Bool>(true)
    /// Deltas a store refused for their data, quarantined so the flush moved on (``Quarantine``).
    public let quarantinedDeltas = Atomic<UInt64>(0)
    /// Raw events the raw-event store refused for their data, quarantined.
    public let quarantinedRawEvents = Atomic<UInt64>(0)
    /// Events accepted and rejected by ingest.
    public let accepted = Atomic<UInt64>(0)
    public let rejected = Atomic<UInt64>(0)
    /// Request bodies refused whole (413, 429, 503).
    public let refusedBatches = Atomic<UInt64>(0)
    /// Body bytes received by ingest (after decompression).
    public let ingestBytes = Atomic<UInt64>(0)
    /// Routes folded into `__other__` by the cardinality guard.
    public let seriesLimited = Atomic<UInt64>(0)
    /// Events whose service, queue or job was folded into `__other__` by ``IdentityGuard``.
    public let foldedServices = Atomic<UInt64>(0)
    public let foldedQueues = Atomic<UInt64>(0)
    public let foldedJobs = Atomic<UInt64>(0)
    /// Duration of the last hot flush, in nanoseconds.
    public let lastFlushNanos = Atomic<UInt64>(0)
    /// Whether the hot store holds what was committed to it (``HotStoreState``, as its raw value).
    public let hotStoreState = Atomic<UInt8>(HotStoreState.ok.rawValue)
    /// Hot-store losses this collector recovered from (each epoch it took after one), and rebuilds it led.
    public let hotRebuilds = Atomic<UInt64>(0)
    public let hotRebuildsLed = Atomic<UInt64>(0)
    /// The hot epoch this collector commits in (nil: none yet).
    public let hotEpoch = Mutex<String?>(nil)

    /// The hot store's state.
    public var hotState: HotStoreState {
        HotStoreState(rawValue: hotStoreState.load(ordering: .relaxed)) ?? .ok
    }
    /// Starts at the positions the stores report.
    public init(hotPosition: UInt64, durablePosition: UInt64) {
        self.hotPosition = Atomic(hotPosition)
        self.durablePosition = Atomic(durablePosition)
    }

    /// The oldest position some store still needs.
    public var neededPosition: UInt64 {
        min(hotPosition.load(ordering: .relaxed), durablePosition.load(ordering: .relaxed))
    }
}

/// Whether the hot store holds what collectors committed to it.
public enum HotStoreState: UInt8, Sendable {
    /// It does, as far as the last check and commit tell.
    case ok = 0
    /// It lost data (restarted empty, failed over to a replica lacking writes); nothing is committed to it until a
    /// rebuild starts.
    case lost = 1
    /// It is being loaded again, or this collector is replaying its own recent records into it: windows are short.
    case rebuilding = 2

    /// How status and `/readyz` name it.
    public var name: String {
        switch self {
        case .ok: "ok"
        case .lost: "lost"
        case .rebuilding: "rebuilding"
        }
    }
}
