import OpsightMetrics
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The delta each store still has to take, shared by the flush loops.
final class PendingDeltas: Sendable {
    struct Slots {
        var hot: Aggregator.Taken?
        var durable: Aggregator.Taken?
    }
    private let slots = Mutex(Slots())
    func withLock<T>(_ body: (inout Slots) -> T) -> T { slots.withLock { body(&$0) } }
}

/// Moves aggregated deltas from memory to the hot and durable stores, and trims the write-ahead log.
///
/// Each store gets its own loop so a PostgreSQL outage does not stall Redis (or the reverse). A delta
/// whose commit failed is kept and retried as it was, never merged with newer data: if the commit did
/// land but its answer was lost, the store's recorded position shows it and the delta is dropped.
///
/// The exception is a delta the store refuses for its data (``StoreRefusal``): retrying cannot help, and it
/// would hold back every delta behind it and the log's trimming. It goes to the ``Quarantine`` and is replaced
/// by an empty delta at the same position, so the store still records the position (a replay after a restart
/// does not bring the refused delta back) and the flush moves on.
public struct Flusher: Service {
    /// How often each store is written.
    public struct Configuration: Sendable {
        public var hotInterval: Duration
        public var durableInterval: Duration
        public var retryInterval: Duration
        /// How often the durable store's finished minutes are compacted.
        public var compactionInterval: Duration
        /// Creates the configuration.
        public init(
            hotInterval: Duration = .milliseconds(200),
            durableInterval: Duration = .seconds(5),
            retryInterval: Duration = .seconds(1),
            compactionInterval: Duration = .seconds(60)
        ) {
            self.hotInterval = hotInterval
            self.durableInterval = durableInterval
            self.retryInterval = retryInterval
            self.compactionInterval = compactionInterval
        }
    }

    private let configuration: Configuration
    private let aggregator: Aggregator
    private let wal: WriteAheadLog
    private let hot: any MetricsStore
    private let durable: any MetricsStore
    private let collectorID: String
    private let status: CollectorStatus
    private let logger: Logger
    /// Tells which minutes no collector writes any more (compaction).
    private let clock: WallClock
    private let quarantine: Quarantine?
    /// Deltas whose commit failed, kept to be retried exactly as they were.
    private let pending = PendingDeltas()

    /// Creates the flusher.
    public init(
        configuration: Configuration = .init(),
        aggregator: Aggregator,
        wal: WriteAheadLog,
        hot: any MetricsStore,
        durable: any MetricsStore,
        collectorID: String,
        status: CollectorStatus,
        quarantine: Quarantine? = nil,
        logger: Logger,
        clock: WallClock = .system
    ) {
        self.clock = clock
        self.configuration = configuration
        self.aggregator = aggregator
        self.wal = wal
        self.hot = hot
        self.durable = durable
        self.collectorID = collectorID
        self.status = status
        self.quarantine = quarantine
        self.logger = logger
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.loop(isHot: true) }
            group.addTask { await self.loop(isHot: false) }
        }
    }

    private func loop(isHot: Bool) async {
        let interval = isHot ? configuration.hotInterval : configuration.durableInterval
        let clock = ContinuousClock()
        var lastCompaction = clock.now
        // Minutes up to this one are compacted; a day back at start covers what an earlier run left.
        var compactedThrough = currentMinute() - 24 * 60
        while true {
            let stopping = Task.isShuttingDownGracefully || Task.isCancelled
            let ok = await step(isHot: isHot)
            if !isHot, ok, !stopping, clock.now - lastCompaction >= configuration.compactionInterval {
                lastCompaction = clock.now
                // Three minutes back: no collector flushes into them any more (flushes lag seconds).
                let upTo = currentMinute() - 3
                if upTo > compactedThrough {
                    do {
                        try await durable.compact(buckets: (compactedThrough + 1)...upTo)
                        compactedThrough = upTo
                    } catch {
                        logger.warning("compaction failed; will retry", metadata: ["error": "\(error)"])
                    }
                }
            }
            // On shutdown one last flush was just tried; whatever did not make it is in the log for next time.
            if stopping { return }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: ok ? interval : configuration.retryInterval) }
        }
    }

    /// Flushes the delta waiting for one store (a failed one first, as it was); true when nothing is left.
    private func step(isHot: Bool) async -> Bool {
        let (taken, isRetry): (Aggregator.Taken?, Bool) = pending.withLock { p in
            if isHot {
                let retry = p.hot != nil
                if !retry { p.hot = aggregator.takeHot() }
                return (p.hot, retry)
            }
            let retry = p.durable != nil
            if !retry { p.durable = aggregator.takeDurable() }
            return (p.durable, retry)
        }
        guard let taken else { return true }
        if taken.delta.isEmpty && taken.position <= position(isHot) {
            pending.withLock { p in if isHot { p.hot = nil } else { p.durable = nil } }
            return true
        }
        guard await flush(taken, isHot: isHot) else { return false }
        pending.withLock { p in if isHot { p.hot = nil } else { p.durable = nil } }
        // A retried delta is old: what piled up behind it during the outage goes right after it.
        return isRetry ? await step(isHot: isHot) : true
    }

    /// Flushes both stores once; true when both are done. For tests and tools that drive flushing themselves.
    public func flushNow() async -> Bool {
        let hotOK = await step(isHot: true)
        let durableOK = await step(isHot: false)
        return hotOK && durableOK
    }

    private func currentMinute() -> Int64 {
        TimeBucket.index(ofMs: clock.nowMs(), widthMs: TimeBucket.durableWidthMs)
    }

    private func position(_ isHot: Bool) -> UInt64 {
        isHot ? status.hotPosition.load(ordering: .relaxed) : status.durablePosition.load(ordering: .relaxed)
    }

    /// Commits one delta; true when it is in the store (now or by an earlier attempt whose answer was lost).
    private func flush(_ taken: Aggregator.Taken, isHot: Bool) async -> Bool {
        let store = isHot ? hot : durable
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let committed = try await store.committedPosition(collector: collectorID)
            if committed < taken.position {
                try await store.commit(taken.delta, position: taken.position, collector: collectorID)
            }
            if isHot {
                status.hotPosition.store(taken.position, ordering: .relaxed)
                status.hotUp.store(true, ordering: .relaxed)
                let elapsed = clock.now - started
                status.lastFlushNanos.store(
                    UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000),
                    ordering: .relaxed)
            } else {
                status.durablePosition.store(taken.position, ordering: .relaxed)
                status.durableUp.store(true, ordering: .relaxed)
            }
            wal.removeSegments(coveredBy: status.neededPosition)
            return true
        } catch {
            if error.isDataRefusal && !taken.delta.isEmpty {
                // Kept at its position but emptied, so the retry below only records the position.
                (quarantine ?? Quarantine(path: nil, status: status, logger: logger)).deltaRefused(
                    taken.delta, position: taken.position, store: isHot ? "redis" : "postgres", error: error)
                pending.withLock { p in
                    let emptied = Aggregator.Taken(delta: Delta(), position: taken.position)
                    if isHot { p.hot = emptied } else { p.durable = emptied }
                }
                return await flush(Aggregator.Taken(delta: Delta(), position: taken.position), isHot: isHot)
            }
            if isHot {
                status.hotErrors.add(1, ordering: .relaxed)
                status.hotUp.store(false, ordering: .relaxed)
            } else {
                status.durableErrors.add(1, ordering: .relaxed)
                status.durableUp.store(false, ordering: .relaxed)
            }
            logger.warning(
                "store commit failed; will retry",
                metadata: ["store": "\(isHot ? "hot" : "durable")", "error": "\(error)"])
            return false
        }
    }
}
