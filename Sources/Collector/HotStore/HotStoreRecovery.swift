import Foundation
import Logging
import OpsightMetrics
import Synchronization

/// Notices that the hot store lost what it held and gets it right again (docs/hot-store-loss.md).
///
/// The hot store carries an epoch; this collector commits only while the store holds the epoch it works in and at
/// least its own last position (``HotEpochStore``). When either is gone, one collector — whoever takes the store's
/// rebuild lock — loads the store again from the durable store's 1-minute rollups, funnel records and job facts as of
/// one instant, and records every collector's durable position at that instant with the new epoch. Each collector
/// then *adopts* the epoch: it drops what it had not yet flushed to the hot store and replays its own log from its
/// recorded position (``Aggregator/restart(_:after:)``), the records no store-wide snapshot could hold. The durable
/// store refuses the commits of a collector that has not adopted the new epoch yet (``HotEpochSource``), so nobody's
/// log is trimmed past what the snapshot holds before it is replayed.
///
/// The flusher's hot loop drives it (``beforeHotFlush()``): all of it runs on that one task.
public final class HotStoreRecovery: Sendable {
    /// Timing and the ranges a rebuild loads.
    public struct Configuration: Sendable {
        /// How long the rebuild lock lives without being renewed (each loaded part renews it).
        public var lockTTLMs: Int64
        /// How far back the hot store keeps buckets and funnel records: what a rebuild loads.
        public var hotRetentionMs: Int64
        /// How far back job facts are loaded (events older than `ingest.max_age` are refused, so a start can only
        /// pair with an enqueue that recent).
        public var jobFactRetentionMs: Int64
        /// How often the store's epoch is looked at when nothing else prompts it.
        public var checkInterval: Duration
        /// Creates the configuration.
        public init(
            lockTTLMs: Int64 = 30_000, hotRetentionMs: Int64 = 4_500_000, jobFactRetentionMs: Int64 = 90_000_000,
            checkInterval: Duration = .seconds(2)
        ) {
            self.lockTTLMs = lockTTLMs
            self.hotRetentionMs = hotRetentionMs
            self.jobFactRetentionMs = jobFactRetentionMs
            self.checkInterval = checkInterval
        }
    }

    /// What the hot flush does after ``beforeHotFlush()``.
    public enum Gate: Sendable, Equatable {
        /// Flush as usual.
        case proceed
        /// Do not flush now: the store is lost and another collector is rebuilding it (or it cannot be checked).
        case wait
        /// A new epoch was adopted: drop any delta kept for a retry (the log has it), then flush.
        case restarted
    }

    private struct State {
        var epoch: String?
        var checkAgain = true
        var lastCheck = ContinuousClock.now
    }

    private let configuration: Configuration
    private let hot: any HotEpochStore
    private let durable: any HotEpochSource
    private let aggregator: Aggregator
    private let status: CollectorStatus
    private let collectorID: String
    private let signal: HotEpochSignal?
    private let logger: Logger
    private let clock: WallClock
    private let state: Mutex<State>

    /// Creates the recovery for a collector that works in hot epoch `epoch` (the one the durable store recorded
    /// when the collector opened).
    public init(
        configuration: Configuration = .init(), hot: any HotEpochStore, durable: any HotEpochSource,
        aggregator: Aggregator, status: CollectorStatus, collectorID: String, epoch: String?,
        signal: HotEpochSignal? = nil, logger: Logger, clock: WallClock = .system
    ) {
        self.configuration = configuration
        self.hot = hot
        self.durable = durable
        self.aggregator = aggregator
        self.status = status
        self.collectorID = collectorID
        self.signal = signal
        self.logger = logger
        self.clock = clock
        self.state = Mutex(State(epoch: epoch))
        status.hotEpoch.withLock { $0 = epoch }
    }

    /// The epoch commits are made in.
    public var epoch: String? { state.withLock { $0.epoch } }

    /// What a guarded hot commit expects now.
    public var expectation: HotExpectation {
        HotExpectation(epoch: epoch, position: status.hotPosition.load(ordering: .relaxed))
    }

    /// A durable commit was fenced: another epoch started. The next hot flush looks.
    public func fenced() { state.withLock { $0.checkAgain = true } }

    /// A guarded hot commit found the store lost.
    public func lost(_ reason: String) {
        state.withLock { $0.checkAgain = true }
        if status.hotState == .ok {
            logger.warning("hot store lost data; it will be rebuilt", metadata: ["reason": "\(reason)"])
            set(.lost)
        }
    }

    /// Checks the store when something prompts it (a failed guard, a fenced durable commit, a read that found no
    /// epoch, or the check interval), leading or joining a rebuild when it is lost.
    public func beforeHotFlush() async -> Gate {
        let (prompted, due) = state.withLock { s -> (Bool, Bool) in
            let prompted = s.checkAgain
            s.checkAgain = false
            return (prompted, ContinuousClock.now - s.lastCheck >= configuration.checkInterval)
        }
        let suspected = prompted || (signal?.takeSuspicion() ?? false)
        guard suspected || due || status.hotState == .lost else { return .proceed }
        state.withLock { $0.lastCheck = ContinuousClock.now }
        do {
            if !suspected && status.hotState == .ok {
                // The routine look: the store alone, while it holds what this collector expects.
                if holds(try await hot.epochState(collector: collectorID)) { return .proceed }
            }
            var gate = Gate.proceed
            if let record = try await durable.hotEpoch(), record.epoch != epoch {
                adopt(record)
                gate = .restarted
            }
            let current = try await hot.epochState(collector: collectorID)
            if holds(current) {
                // Found lost while another collector's rebuild was still finishing, after this one had taken the new
                // epoch: the store is whole again once this collector's replay is in (``hotFlushed()``).
                if status.hotState == .lost { set(.rebuilding) }
                return gate
            }
            if current.epoch == nil, let building = current.rebuilding, building == epoch {
                // The rebuild of the epoch this collector took (from the durable store) is still setting the store's
                // epoch: no loss, a moment's wait (on a Redis Cluster, the flip of every slot's epoch copy).
                state.withLock { $0.checkAgain = true }
                return gate == .restarted ? .restarted : .wait
            }
            if status.hotState == .ok {
                if epoch == nil && current.epoch == nil {
                    // PostgreSQL never recorded an epoch: a new installation, where nothing can have been lost.
                    logger.notice("no hot epoch recorded yet (a new installation); starting the first")
                } else {
                    logger.warning(
                        "hot store lost data; it will be rebuilt",
                        metadata: [
                            "epoch": "\(current.epoch ?? "none")", "expected": "\(epoch ?? "none")",
                            "missing": "\(current.lost ?? "-")",
                        ])
                }
                set(.lost)
            }
            state.withLock { $0.checkAgain = true }
            if current.rebuilding == nil, try await lead() { return .restarted }
            return gate == .restarted ? .restarted : .wait
        } catch {
            if status.hotState != .ok { state.withLock { $0.checkAgain = true } }
            logger.debug("hot store check failed", metadata: ["error": "\(error)"])
            return status.hotState == .ok ? .proceed : .wait
        }
    }

    /// A hot flush took everything: once this collector's replay after a rebuild is done, the store is whole again
    /// as far as this collector is concerned.
    public func hotFlushed() {
        guard status.hotState == .rebuilding, !aggregator.isReplaying(.hot) else { return }
        logger.notice("hot store rebuilt; windows are whole again", metadata: ["epoch": "\(epoch ?? "")"])
        set(.ok)
    }

    /// Whether the store holds this collector's epoch, at least its last position and nothing found missing.
    private func holds(_ s: HotEpochState) -> Bool {
        guard let epoch, s.epoch == epoch, s.lost == nil else { return false }
        return s.position >= status.hotPosition.load(ordering: .relaxed)
    }

    /// Rebuilds the store under a new epoch when no other collector is; false when another took the lock first.
    private func lead() async throws -> Bool {
        let epoch = Self.newEpoch()
        guard try await hot.lockRebuild(epoch: epoch, holder: collectorID, ttlMs: configuration.lockTTLMs) else {
            return false
        }
        set(.rebuilding)
        let first = self.epoch == nil
        let started = ContinuousClock.now
        logger.warning("rebuilding the hot store from the durable store", metadata: ["epoch": "\(epoch)"])
        do {
            try await hot.clearForRebuild(epoch: epoch)
            let nowMs = clock.nowMs()
            let minute = TimeBucket.durableWidthMs
            // Up to the future edge ingest accepts (5 min), plus the minute it falls in.
            let minutes =
                TimeBucket.index(ofMs: nowMs - configuration.hotRetentionMs, widthMs: minute)...TimeBucket.index(
                    ofMs: nowMs + 6 * minute, widthMs: minute)
            let hot = self.hot
            let ttl = configuration.lockTTLMs
            let positions = try await durable.startHotEpoch(
                epoch, minutes: minutes, funnelStepsAfterMs: nowMs - configuration.hotRetentionMs,
                jobFactsAfterMs: nowMs - configuration.jobFactRetentionMs
            ) { part in
                try await hot.loadForRebuild(part.placedInHotBuckets(nowMs: nowMs), epoch: epoch, ttlMs: ttl)
            }
            guard try await hot.finishRebuild(epoch: epoch, positions: positions) else {
                throw CollectorError(.store, "the hot store's rebuild lock expired before the rebuild was done")
            }
            adopt(HotEpochRecord(epoch: epoch, positions: positions))
            // The first epoch of a new installation is no rebuild: an alert on rebuilds would fire on every install.
            if !first { status.hotRebuildsLed.add(1, ordering: .relaxed) }
            logger.notice(
                "hot store loaded from the durable store; collectors now replay their recent records",
                metadata: ["epoch": "\(epoch)", "took": "\(ContinuousClock.now - started)"])
            return true
        } catch {
            try? await hot.releaseRebuild(epoch: epoch)
            set(.lost)
            // Said here, at warning: the check that called this logs its failures at debug only (a store that is
            // down says so elsewhere), and a rebuild that fails — PostgreSQL refusing the snapshot, the lock lapsing
            // — leaves `/readyz` at 503 until one succeeds.
            logger.warning(
                "rebuilding the hot store failed; the next check tries again",
                metadata: ["epoch": "\(epoch)", "error": "\(error)"])
            throw error
        }
    }

    /// Takes `record`'s epoch: the hot store holds this collector's records up to its recorded position, so the
    /// rest is replayed from the log.
    private func adopt(_ record: HotEpochRecord) {
        let position = record.positions[collectorID] ?? 0
        aggregator.restart(.hot, after: position)
        status.hotPosition.store(position, ordering: .relaxed)
        let replaced = state.withLock { s in
            defer { s.epoch = record.epoch }
            return s.epoch != nil
        }
        status.hotEpoch.withLock { $0 = record.epoch }
        // Taking the first epoch of a new installation is no recovery from a loss.
        if replaced { status.hotRebuilds.add(1, ordering: .relaxed) }
        set(.rebuilding)
        logger.notice(
            "taking the hot store's new epoch; replaying this collector's records from its durable position",
            metadata: ["epoch": "\(record.epoch)", "position": "\(position)"])
    }

    private func set(_ s: HotStoreState) { status.hotStoreState.store(s.rawValue, ordering: .relaxed) }

    /// A fresh epoch name: random, so two rebuilds never share one.
    static func newEpoch() -> String {
        var g = SystemRandomNumberGenerator()
        return String(g.next() as UInt64, radix: 36) + String(g.next() as UInt64, radix: 36)
    }
}

extension Delta {
    /// Durable (1-minute) cells moved into hot (10-second) buckets, for loading a rebuilt hot store.
    ///
    /// A minute's cells go to its last 10-second bucket, so windows ending on the minute grid are exact; the minute
    /// under way goes to the current bucket, so a window at the current time includes it. Facts and funnel records
    /// keep their own times.
    public func placedInHotBuckets(nowMs: Int64) -> Delta {
        let perMinute = TimeBucket.durableWidthMs / TimeBucket.hotWidthMs
        let nowBucket = TimeBucket.index(ofMs: nowMs, widthMs: TimeBucket.hotWidthMs)
        func place(_ minute: Int64) -> Int64 {
            let last = minute * perMinute
            return last > nowBucket && last - perMinute < nowBucket ? nowBucket : last
        }
        var out = Delta()
        for (k, v) in requests { out.requests[Bucketed(k.key, bucket: place(k.bucket)), default: RequestStats()].merge(v) }
        for (k, v) in jobs { out.jobs[Bucketed(k.key, bucket: place(k.bucket)), default: JobStats()].merge(v) }
        for (k, v) in logs { out.logs[Bucketed(k.key, bucket: place(k.bucket)), default: LogStats()].merge(v) }
        out.funnelSteps = funnelSteps
        out.jobFacts = jobFacts
        return out
    }
}
