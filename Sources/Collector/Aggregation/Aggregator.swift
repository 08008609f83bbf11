import OpsightMetrics
import Synchronization

/// Accumulates committed batches until a flusher takes them, remembering which log position they cover.
///
/// Batches are applied by the commit thread in write-ahead-log order, so "everything up to position P" is
/// always a prefix of the log: a store that commits a taken delta together with its position can be
/// replayed into from that position after a crash and counts every event exactly once.
public final class Aggregator: Sendable {
    /// A delta and the log position it covers (all records ending at or before `position`).
    public struct Taken: Sendable {
        public var delta: Delta
        public var position: UInt64
    }

    /// Which of the two stores a replayed record still has to reach.
    public struct Targets: Sendable, OptionSet {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let hot = Targets(rawValue: 1)
        public static let durable = Targets(rawValue: 2)
        public static let all: Targets = [.hot, .durable]
    }

    private struct State {
        var hot = Delta()
        var durable = Delta()
        var hotPosition: UInt64
        var durablePosition: UInt64
        /// Latest enqueue times per job, for queue wait; bounded by `maxTrackedJobs`.
        var enqueued: [JobIdentity: [Int64]] = [:]
    }

    private let state: Mutex<State>
    private let maxTrackedJobs: Int

    /// Starts empty, covering the log up to the given store positions.
    public init(hotPosition: UInt64, durablePosition: UInt64, maxTrackedJobs: Int = 200_000) {
        self.state = Mutex(State(hotPosition: hotPosition, durablePosition: durablePosition))
        self.maxTrackedJobs = maxTrackedJobs
    }

    /// Applies a committed batch whose record ends at `position`.
    public func apply(_ batch: BatchAggregate, position: UInt64, targets: Targets = .all) {
        state.withLock { s in
            var hot = batch.hot
            var durable = batch.durable
            resolveWaits(batch, into: &s.enqueued, hot: &hot, durable: &durable)
            if targets.contains(.hot) {
                s.hot.merge(hot)
                s.hotPosition = max(s.hotPosition, position)
            }
            if targets.contains(.durable) {
                s.durable.merge(durable)
                s.durablePosition = max(s.durablePosition, position)
            }
        }
    }

    /// Takes everything for the hot store.
    public func takeHot() -> Taken {
        state.withLock { s in
            defer { s.hot = Delta() }
            return Taken(delta: s.hot, position: s.hotPosition)
        }
    }

    /// Takes everything for the durable store.
    public func takeDurable() -> Taken {
        state.withLock { s in
            defer { s.durable = Delta() }
            return Taken(delta: s.durable, position: s.durablePosition)
        }
    }

    private func resolveWaits(
        _ batch: BatchAggregate,
        into enqueued: inout [JobIdentity: [Int64]],
        hot: inout Delta,
        durable: inout Delta
    ) {
        if batch.enqueues.isEmpty && batch.starts.isEmpty { return }
        // Enqueues and starts of one batch are resolved in event-time order so a batch holding both the
        // enqueue and the start of a job yields its wait.
        var ops: [(ts: Int64, isStart: Bool, index: Int)] = []
        ops.reserveCapacity(batch.enqueues.count + batch.starts.count)
        for (i, e) in batch.enqueues.enumerated() { ops.append((e.timestampMs, false, i)) }
        for (i, s) in batch.starts.enumerated() { ops.append((s.timestampMs, true, i)) }
        ops.sort { ($0.ts, $0.isStart ? 1 : 0) < ($1.ts, $1.isStart ? 1 : 0) }
        for op in ops {
            if !op.isStart {
                let e = batch.enqueues[op.index]
                var times = enqueued[e.id, default: []]
                times.append(e.timestampMs)
                if times.count > 4 { times.removeFirst(times.count - 4) }
                enqueued[e.id] = times
                continue
            }
            let s = batch.starts[op.index]
            // The latest enqueue at or before the start: a retry is enqueued again.
            guard let enq = enqueued[s.id]?.filter({ $0 <= s.timestampMs }).max() else { continue }
            let wait = Double(s.timestampMs - enq)
            hot.jobs[Bucketed(s.key, bucket: TimeBucket.index(ofMs: s.timestampMs, widthMs: TimeBucket.hotWidthMs)),
                default: JobStats()].wait.add(wait)
            durable.jobs[Bucketed(s.key, bucket: TimeBucket.index(ofMs: s.timestampMs, widthMs: TimeBucket.durableWidthMs)),
                default: JobStats()].wait.add(wait)
        }
        if enqueued.count > maxTrackedJobs {
            // Forget the jobs enqueued longest ago; their starts, if they ever come, get no wait sample.
            let cutoff = enqueued.values.compactMap(\.last).sorted()[enqueued.count - maxTrackedJobs / 2]
            enqueued = enqueued.filter { ($0.value.last ?? 0) >= cutoff }
        }
    }
}
