import OpsightMetrics
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The delta each store still has to take, shared by the flush loops.
final class PendingDeltas: Sendable {
    /// A delta kept for its store, and whether it was read back from the log (``Aggregator/Work/replay(after:through:)``).
    struct Entry {
        var taken: Aggregator.Taken
        var fromLog: Bool
    }
    struct Slots {
        var hot: Entry?
        var durable: Entry?

        subscript(isHot: Bool) -> Entry? {
            get { isHot ? hot : durable }
            set { if isHot { hot = newValue } else { durable = newValue } }
        }
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
/// One commit carries at most one of the aggregator's chunks, each with the log position of its last record; a
/// store that was away for long (or a collector that just started) catches up chunk by chunk, reading the records
/// the aggregator did not keep back from the log. A crash between two chunks leaves the store at the first one's
/// position, and the replay after the restart begins right after it: nothing is lost or counted twice.
///
/// The exception is a delta the store refuses for its data (``StoreRefusal``): retrying cannot help, and it
/// would hold back every delta behind it and the log's trimming. It goes to the ``Quarantine`` and is replaced
/// by an empty delta at the same position, so the store still records the position (a replay after a restart
/// does not bring the refused delta back) and the flush moves on.
///
/// With a ``HotStoreRecovery``, hot commits are guarded by the hot store's epoch and durable commits fenced by it,
/// and a hot store that lost its data is rebuilt (docs/hot-store-loss.md).
public struct Flusher: Service {
    /// How often each store is written.
    public struct Configuration: Sendable {
        public var hotInterval: Duration
        public var durableInterval: Duration
        public var retryInterval: Duration
        /// How often the durable store's finished minutes are compacted.
        public var compactionInterval: Duration
        /// How long the durable flush may give way to a hot backlog, counted from when it last caught up: while the
        /// hot lane has more than its growing chunk, the durable flush waits (its records stay in the log), so a
        /// burst reaches the hot store, which reads at "now" serve, with the CPU the durable flush would take. Zero
        /// turns it off.
        public var durableYieldLimit: Duration
        /// How far behind in the log (bytes) the durable store may fall while it gives way; past it, it flushes. A
        /// quarter of `wal.max_bytes` in `opsight serve`, so giving way never brings ingest near its 503.
        public var durableYieldBytes: UInt64
        /// Creates the configuration.
        public init(
            hotInterval: Duration = .milliseconds(200),
            durableInterval: Duration = .seconds(5),
            retryInterval: Duration = .seconds(1),
            compactionInterval: Duration = .seconds(60),
            durableYieldLimit: Duration = .seconds(15),
            durableYieldBytes: UInt64 = 256 << 20
        ) {
            self.hotInterval = hotInterval
            self.durableInterval = durableInterval
            self.retryInterval = retryInterval
            self.compactionInterval = compactionInterval
            self.durableYieldLimit = durableYieldLimit
            self.durableYieldBytes = durableYieldBytes
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
    private let recovery: HotStoreRecovery?
    /// The ingest decoder's identity strings, for the events read back from the log.
    private let identities: IdentityStrings?
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
        recovery: HotStoreRecovery? = nil,
        identities: IdentityStrings? = nil,
        logger: Logger,
        clock: WallClock = .system
    ) {
        self.clock = clock
        self.identities = identities
        self.configuration = configuration
        self.aggregator = aggregator
        self.wal = wal
        self.hot = hot
        self.durable = durable
        self.collectorID = collectorID
        self.status = status
        self.quarantine = quarantine
        self.recovery = recovery
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
        // When the durable flush last had nothing left to take: it gives way to a hot backlog until the limit after.
        var durableCaughtUp = clock.now
        while true {
            let stopping = Task.isShuttingDownGracefully || Task.isCancelled
            var pause = interval
            if stopping, isHot, status.hotState != .ok {
                // No rebuild or replay on the way out: the log holds it all, and the next start catches up.
                return
            }
            let givingWayUntil = isHot || stopping ? nil : durableCaughtUp + configuration.durableYieldLimit
            if isHot, let recovery, await gate(recovery) == false {
                // The hot store is being rebuilt by another collector (or cannot be checked): look again soon.
                pause = min(interval, configuration.retryInterval)
            } else if let until = givingWayUntil, givesWay(until: until) {
                // A hot backlog: look again at the hot flush's pace.
                pause = min(interval, configuration.hotInterval)
            } else {
                let ok = await step(isHot: isHot, once: stopping, givingWayUntil: givingWayUntil)
                if !isHot, ok, !aggregator.hasBacklog(.durable) { durableCaughtUp = clock.now }
                if !isHot, ok, let until = givingWayUntil, givesWay(until: until) {
                    pause = min(interval, configuration.hotInterval)
                }
                if !ok { pause = configuration.retryInterval }
                if isHot, ok { recovery?.hotFlushed() }
                if isHot, ok, !stopping, !aggregator.hasBacklog(.hot) {
                    // Caught up: the store's upkeep (Redis folds the parts of settled hashes) until a burst comes.
                    await hot.tidy { [aggregator] in
                        !aggregator.hasBacklog(.hot) && !Task.isCancelled && !Task.isShuttingDownGracefully
                    }
                }
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
            }
            // On shutdown one last flush was just tried; whatever did not make it is in the log for next time.
            if stopping { return }
            let sleep = pause
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: sleep) }
        }
    }

    /// Lets the recovery look at the hot store first; false when the hot flush must wait.
    private func gate(_ recovery: HotStoreRecovery) async -> Bool {
        switch await recovery.beforeHotFlush() {
        case .proceed: return true
        case .wait: return false
        case .restarted:
            // The log holds what the dropped delta held; the aggregator replays it from the new position.
            pending.withLock { $0.hot = nil }
            return true
        }
    }

    /// Whether the durable flush waits for the hot one now (see ``Configuration/durableYieldLimit``): never for a hot
    /// store that is failing or being rebuilt, whose backlog is not CPU the durable flush could give it, nor once the
    /// durable store is ``Configuration/durableYieldBytes`` behind.
    private func givesWay(until: ContinuousClock.Instant) -> Bool {
        let end = wal.endPosition
        let durableAt = status.durablePosition.load(ordering: .relaxed)
        return ContinuousClock.now < until && status.hotUp.load(ordering: .relaxed) && status.hotState == .ok
            && (end > durableAt ? end - durableAt : 0) < configuration.durableYieldBytes
            && aggregator.hasBacklog(.hot)
    }

    /// Flushes what waits for one store (a failed delta first, as it was), chunk after chunk while a backlog
    /// remains (only the first when `once`: a shutdown does not wait for a catch-up the log keeps for the next
    /// start; none after the current one while the durable flush gives way to the hot one, `givingWayUntil`);
    /// true when the store took everything asked of it.
    private func step(isHot: Bool, once: Bool = false, givingWayUntil: ContinuousClock.Instant? = nil) async -> Bool {
        let lane: Aggregator.Lane = isHot ? .hot : .durable
        // The next chunk of a read-back, read from the log while the current one is committed: the store's round
        // trip and the log's decoding overlap instead of taking turns (a shipment of the last hour is mostly
        // read back). Used only when the lane then asks for exactly that stretch.
        var ahead: (after: UInt64, through: UInt64, read: Task<Aggregator.Taken?, Never>)?
        while true {
            var isRetry = false
            let entry: PendingDeltas.Entry
            if let kept = pending.withLock({ $0[isHot] }) {
                entry = kept
                isRetry = true
            } else {
                switch aggregator.take(lane) {
                case .commit(let taken):
                    entry = .init(taken: taken, fromLog: false)
                case .replay(let after, let through):
                    let read: Aggregator.Taken?
                    if let a = ahead, a.after == after, a.through == through, after >= position(isHot) {
                        read = await a.read.value
                    } else {
                        read = await readBack(lane, after: after, through: through)
                    }
                    ahead = nil
                    guard let read else { return false }
                    entry = .init(taken: read, fromLog: true)
                }
                pending.withLock { $0[isHot] = entry }
            }
            let taken = entry.taken
            let yielding = givingWayUntil.map(givesWay(until:)) ?? false
            if entry.fromLog, !once, !yielding, let stretch = aggregator.replayStretch(lane), taken.position < stretch.through {
                let (after, through) = (taken.position, stretch.through)
                ahead = (after, through, Task { readLog(lane, after: after, through: through) })
            }
            if !(taken.delta.isEmpty && taken.position <= position(isHot)) {
                guard await flush(taken, isHot: isHot) else { return false }
            }
            pending.withLock { $0[isHot] = nil }
            if entry.fromLog { aggregator.replayed(lane, through: taken.position) }
            if yielding { return true }
            // An old delta (a retry, a chunk read back from the log, one of several kept): the rest follows now.
            guard !once, isRetry || entry.fromLog || aggregator.hasBacklog(lane) else { return true }
        }
    }

    /// Reads back one chunk of the records after `after` (or after the store's own position, when that is further)
    /// up to `through`; nil when the store cannot be asked or the log cannot be read.
    private func readBack(_ lane: Aggregator.Lane, after: UInt64, through: UInt64) async -> Aggregator.Taken? {
        let store = lane == .hot ? hot : durable
        let start: UInt64
        do {
            start = max(after, try await store.committedPosition(collector: collectorID))
        } catch {
            markFailed(lane == .hot, error)
            return nil
        }
        return readLog(lane, after: start, through: through)
    }

    /// Reads one chunk of the log's records after `start` up to `through` and aggregates them for `lane`; nil when
    /// the log cannot be read.
    private func readLog(_ lane: Aggregator.Lane, after start: UInt64, through: UInt64) -> Aggregator.Taken? {
        if start >= through { return Aggregator.Taken(delta: Delta(), position: through) }
        var delta = Delta()
        let limit = aggregator.limits.chunkBytes
        // Room for the chunk's cells from the start: a read-back is a lane past its cap, so the chunk fills, and at
        // about a cell per event (a file of the last hour) growing from an empty table rehashed every key several
        // times (perf: ~1.4 % of a shipment's collector CPU). A request event's record is ~50–70 bytes, so a cell per
        // 32 bytes of log counts high rather than low for a short read-back.
        delta.requests.reserveCapacity(min(limit / Delta.cellBytes, Int(clamping: (through - start) / 32)))
        do {
            let widthMs = lane == .hot ? TimeBucket.hotWidthMs : TimeBucket.durableWidthMs
            let outcome = try wal.readRecords(after: start, through: through) { _, payload in
                let (events, keys) = try EventCodec.decodeForAggregation(payload, strings: identities)
                BatchAggregate.add(events, requestKeys: keys, rules: aggregator.rules, widthMs: widthMs, to: &delta)
                return delta.estimatedBytes < limit
            }
            if let missing = outcome.missingUpTo {
                logger.error(
                    "the write-ahead log no longer holds records a store needs; they are lost for it",
                    metadata: [
                        "store": "\(lane == .hot ? "hot" : "durable")", "from": "\(start)", "to": "\(missing)",
                    ])
            }
            return Aggregator.Taken(delta: delta, position: outcome.lastEnd)
        } catch {
            // A file error said as the system says it, with the segment, rather than Foundation's dump.
            var metadata: Logger.Metadata = ["error": "\(error)"]
            let ns = error as NSError
            if error is POSIXError || ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
                metadata["error"] = "\(fileErrorReason(error))"
                if let path = ns.userInfo[NSFilePathErrorKey] as? String { metadata["file"] = "\(path)" }
            }
            logger.error("reading back the write-ahead log failed; will retry", metadata: metadata)
            return nil
        }
    }

    /// Flushes both stores once; true when both are done. For tests and tools that drive flushing themselves.
    public func flushNow() async -> Bool {
        var hotOK = true
        if let recovery { hotOK = await gate(recovery) }
        if hotOK { hotOK = await step(isHot: true) }
        if hotOK { recovery?.hotFlushed() }
        let durableOK = await step(isHot: false)
        return hotOK && durableOK
    }

    private func currentMinute() -> Int64 {
        TimeBucket.index(ofMs: clock.nowMs(), widthMs: TimeBucket.durableWidthMs)
    }

    private func position(_ isHot: Bool) -> UInt64 {
        isHot ? status.hotPosition.load(ordering: .relaxed) : status.durablePosition.load(ordering: .relaxed)
    }

    /// Commits one delta to its store, guarded by the hot epoch when there is a recovery; true when the delta is in
    /// the store (now or by an earlier attempt whose answer was lost).
    private func commit(_ taken: Aggregator.Taken, isHot: Bool) async throws -> Bool {
        let store = isHot ? hot : durable
        if isHot, let recovery, let guarded = store as? any HotEpochStore {
            let outcome = try await guarded.commit(
                taken.delta, position: taken.position, collector: collectorID, expecting: recovery.expectation)
            if case .lost(let reason) = outcome {
                recovery.lost(reason)
                return false
            }
            return true
        }
        let committed = try await store.committedPosition(collector: collectorID)
        guard committed < taken.position else { return true }
        if !isHot, let recovery, let fenced = store as? any HotEpochSource {
            do {
                try await fenced.commit(taken.delta, position: taken.position, collector: collectorID, hotEpoch: recovery.epoch)
            } catch is HotEpochFenced {
                // Another hot epoch started: this collector takes it (in the hot loop) before committing again.
                recovery.fenced()
                return false
            }
            return true
        }
        try await store.commit(taken.delta, position: taken.position, collector: collectorID)
        return true
    }

    /// Commits one delta; true when it is in the store (now or by an earlier attempt whose answer was lost).
    private func flush(_ taken: Aggregator.Taken, isHot: Bool) async -> Bool {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            guard try await commit(taken, isHot: isHot) else { return false }
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
                let emptied = Aggregator.Taken(delta: Delta(), position: taken.position)
                pending.withLock { p in p[isHot]?.taken = emptied }
                return await flush(emptied, isHot: isHot)
            }
            markFailed(isHot, error)
            return false
        }
    }

    private func markFailed(_ isHot: Bool, _ error: any Error) {
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
    }
}
