import OpsightMetrics
import Synchronization

/// Accumulates committed batches until a flusher takes them, remembering which log position they cover.
///
/// Batches are applied by the commit thread in write-ahead-log order, so "everything up to position P" is
/// always a prefix of the log: a store that commits a taken delta together with its position can be
/// replayed into from that position after a crash and counts every event exactly once.
///
/// Memory is capped in bytes, per store (a *lane*). A lane's deltas are chunks of about
/// ``Limits/chunkBytes`` each carrying the position of its last record, so one commit never carries more than a
/// chunk however long the store was away, and a crash between two chunk commits loses and doubles nothing. When a
/// lane holds more than ``Limits/laneBytes`` it stops keeping deltas: the records after its last chunk stay in the
/// log only (which keeps them until both stores have them), and the flusher reads them back in chunks
/// (``Work/replay(after:through:)``) once the store takes commits again. A collector starts that way too, and
/// after its hot store was rebuilt (``restart(_:after:)``).
public final class Aggregator: Sendable {
    /// A delta and the log position it covers (all records ending at or before `position`).
    public struct Taken: Sendable {
        public var delta: Delta
        public var position: UInt64
        /// Creates the pair.
        public init(delta: Delta, position: UInt64) {
            self.delta = delta
            self.position = position
        }
    }

    /// Which of the two stores a replayed record still has to reach.
    public struct Targets: Sendable, OptionSet {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let hot = Targets(rawValue: 1)
        public static let durable = Targets(rawValue: 2)
        public static let all: Targets = [.hot, .durable]
    }

    /// One store's share.
    public enum Lane: Sendable {
        case hot, durable
    }

    /// Byte caps of what is kept in memory (estimates: a cell, a fact or a record counts its usual size).
    public struct Limits: Sendable {
        /// A delta grows to about this size before the next one starts: the most one commit carries.
        public var chunkBytes: Int
        /// The most kept for one store; beyond it the store catches up from the log instead.
        public var laneBytes: Int
        /// Creates the limits.
        ///
        /// The defaults keep both lanes to ~48 MB in all, inside SPEC §11's 300 MB for the whole collector. A chunk of
        /// 4 MiB is ~11 000 cells: its Redis transaction is a few MB of RESP, its PostgreSQL `INSERT` a `Bind` of
        /// ~2 MB. A store slower than ingest (a file of the last hour shipped at full speed) leaves the rest in
        /// the log, read back in chunks as the store catches up. Measured on that shipment (docs/benchmarks.md),
        /// 16 MiB chunks and 192 MiB lanes peaked at ~640 MB RSS, these at ~270 MB, for ~1 CPU-s more of the
        /// 13 a shipment costs (fewer cells merge within a chunk; the backlog is aggregated again when read back).
        /// Lanes of 24 MiB rather than 32 since hot commits write parts (`RedisHotStore`): the hot lane drains
        /// faster, ingest fills the lanes sooner, and 32 MiB peaked ~30 MB higher than before; 24 MiB took the
        /// shipment's peak from 244 to 222 MB for +3 % time to visible (three rounds, docs/benchmarks.md).
        public init(chunkBytes: Int = 4 << 20, laneBytes: Int = 24 << 20) {
            self.chunkBytes = max(chunkBytes, 1)
            self.laneBytes = max(laneBytes, chunkBytes)
        }
    }

    /// What a flush of one lane does next.
    public enum Work: Sendable {
        /// Commit this delta; an empty one only records the position.
        case commit(Taken)
        /// The records after `after`, up to `through`, are in the log only: read them back and commit them in chunks,
        /// telling ``replayed(_:through:)`` how far each got. Records after `through` are kept in memory.
        case replay(after: UInt64, through: UInt64)
    }

    private struct Chunk {
        var delta = Delta()
        var position: UInt64
        var bytes = 0
    }

    /// A stretch of a lane, in log order.
    private enum Segment {
        /// Deltas kept in memory, up to the chunk's position.
        case chunk(Chunk)
        /// Records after `after` left in the log, up to `through` (nil: up to whatever comes; the lane keeps
        /// nothing meanwhile).
        case log(after: UInt64, through: UInt64?)
    }

    private struct LaneState {
        var segments: [Segment] = []
        var bytes = 0
        /// End of the last record this lane took (kept or left in the log).
        var position: UInt64
        /// Request cells of the last chunk closed, the size a new chunk reserves: growing a dictionary of ~10⁵ cells
        /// from empty rehashes every key a dozen times, on the commit thread (a file of the last hour makes about a
        /// cell per event).
        var lastRequestCells = 0

        /// Whether the lane keeps nothing in memory now (its last stretch is open-ended in the log).
        var spilled: Bool {
            if case .log(_, nil) = segments.last { return true }
            return false
        }

        var replaying: Bool {
            segments.contains { if case .log = $0 { return true } else { return false } }
        }
    }

    private struct State {
        var hot: LaneState
        var durable: LaneState
        /// End of the last record applied.
        var lastApplied: UInt64

        subscript(lane: Lane) -> LaneState {
            get { lane == .hot ? hot : durable }
            set { if lane == .hot { hot = newValue } else { durable = newValue } }
        }
    }

    private let state: Mutex<State>
    /// The byte caps.
    public let limits: Limits
    /// The rules batches were aggregated under: records read back from the log are aggregated by them again.
    public let rules: AggregationRules

    /// Starts empty, covering the log up to the given store positions. Records up to `logEnd` (the log's end when
    /// it was opened) that a store does not have yet are left in the log for the flusher to read back.
    public init(
        hotPosition: UInt64, durablePosition: UInt64, logEnd: UInt64 = 0, limits: Limits = .init(),
        rules: AggregationRules = .init()
    ) {
        func lane(_ position: UInt64) -> LaneState {
            LaneState(
                segments: position < logEnd ? [.log(after: position, through: logEnd)] : [],
                position: max(position, logEnd))
        }
        self.state = Mutex(State(hot: lane(hotPosition), durable: lane(durablePosition), lastApplied: logEnd))
        self.limits = limits
        self.rules = rules
    }

    /// Applies a committed batch whose record ends at `position`. A batch without its aggregate (nil: ingest saw
    /// ``keepsNothing`` and did not build it) is left in the log for every lane, to be read back like a spilled one.
    public func apply(_ batch: BatchAggregate?, position: UInt64, targets: Targets = .all) {
        state.withLock { s in
            s.lastApplied = max(s.lastApplied, position)
            guard let batch else {
                if targets.contains(.hot) { leave(&s.hot, position: position) }
                if targets.contains(.durable) { leave(&s.durable, position: position) }
                return
            }
            if targets.contains(.hot) { add(batch.hot, to: &s.hot, position: position) }
            if targets.contains(.durable) {
                add(batch.hot, to: &s.durable, position: position, rollingUpBy: TimeBucket.hotPerDurable)
            }
        }
    }

    /// Whether neither lane keeps what is applied now: both passed their byte cap and leave new records in the log
    /// until the flusher reads them back. Ingest then skips aggregating a batch (``apply(_:position:targets:)`` with
    /// nil): shipping a file of the last hour, both lanes are spilled most of the time, and the aggregate built per
    /// batch and thrown away was ~5 % of the collector's CPU (docs/benchmarks.md). A lane that takes records again
    /// between the check and the apply gets the batch left in the log, which costs only its reading back.
    public var keepsNothing: Bool { state.withLock { $0.hot.spilled && $0.durable.spilled } }

    /// Leaves the record ending at `position` in the log for `lane`.
    private func leave(_ lane: inout LaneState, position: UInt64) {
        if !lane.spilled { lane.segments.append(.log(after: lane.position, through: nil)) }
        lane.position = max(lane.position, position)
    }

    private func add(_ delta: Delta, to lane: inout LaneState, position: UInt64, rollingUpBy factor: Int64 = 1) {
        defer { lane.position = max(lane.position, position) }
        if lane.spilled { return }
        var chunk: Chunk
        if case .chunk(let open) = lane.segments.last, open.bytes < limits.chunkBytes {
            chunk = open
            lane.segments.removeLast()
        } else {
            if case .chunk(let full) = lane.segments.last { lane.lastRequestCells = full.delta.requests.count }
            chunk = Chunk(position: lane.position)
            chunk.delta.requests.reserveCapacity(min(lane.lastRequestCells, limits.chunkBytes / Delta.cellBytes))
        }
        let before = chunk.delta.estimatedBytes
        chunk.delta.merge(delta, rollingUpBy: factor)
        let grown = chunk.delta.estimatedBytes - before
        chunk.bytes += grown
        chunk.position = max(chunk.position, position)
        lane.bytes += grown
        lane.segments.append(.chunk(chunk))
        if lane.bytes > limits.laneBytes {
            // Everything up to this record is in the chunks; what follows stays in the log until read back.
            lane.segments.append(.log(after: position, through: nil))
        }
    }

    /// What the flush of `lane` does next: the oldest chunk, a stretch to read back from the log, or an empty
    /// commit of the lane's position.
    public func take(_ lane: Lane) -> Work {
        state.withLock { s in
            var l = s[lane]
            defer { s[lane] = l }
            switch l.segments.first {
            case .chunk(let first):
                l.segments.removeFirst()
                l.bytes -= first.bytes
                l.lastRequestCells = max(l.lastRequestCells / 2, first.delta.requests.count)
                return .commit(Taken(delta: first.delta, position: first.position))
            case .log(let after, let through):
                // An open-ended stretch ends here: what is applied from now on is kept in memory again.
                let end = through ?? s.lastApplied
                if through == nil {
                    l.segments[0] = .log(after: after, through: end)
                    l.position = max(l.position, end)
                }
                if after < end { return .replay(after: after, through: end) }
                l.segments.removeFirst()
                return .commit(Taken(delta: Delta(), position: end))
            case nil:
                return .commit(Taken(delta: Delta(), position: l.position))
            }
        }
    }

    /// Records that the records of `lane` up to `through` reached its store from the log.
    public func replayed(_ lane: Lane, through: UInt64) {
        state.withLock { s in
            guard case .log(let after, let end?) = s[lane].segments.first, through > after else { return }
            if through >= end {
                s[lane].segments.removeFirst()
            } else {
                s[lane].segments[0] = .log(after: through, through: end)
            }
        }
    }

    /// Drops what `lane` holds and leaves every record after `after` to be read back from the log: the store was
    /// found to hold exactly the records up to `after` (a rebuilt hot store).
    public func restart(_ lane: Lane, after: UInt64) {
        state.withLock { s in
            s[lane] = LaneState(segments: [.log(after: after, through: nil)], position: after)
        }
    }

    /// Whether `lane` has records to read back from the log.
    public func isReplaying(_ lane: Lane) -> Bool { state.withLock { $0[lane].replaying } }

    /// The stretch of the log `lane` is reading back now (what the last ``take(_:)`` handed out as a replay, and
    /// what the next one continues), if any.
    public func replayStretch(_ lane: Lane) -> (after: UInt64, through: UInt64)? {
        state.withLock { s in
            guard case .log(let after, let through?) = s[lane].segments.first else { return nil }
            return (after, through)
        }
    }

    /// Whether `lane` holds more than the chunk still growing, or has records to read back.
    public func hasBacklog(_ lane: Lane) -> Bool {
        state.withLock { $0[lane].segments.count > 1 || $0[lane].replaying }
    }

    /// Estimated bytes `lane` holds in memory.
    public func bytes(_ lane: Lane) -> Int { state.withLock { $0[lane].bytes } }

    /// Takes everything `lane` holds in memory (all its chunks merged), for tests and tools that drive flushing
    /// themselves; records left in the log are not read back.
    public func takeHot() -> Taken { takeAll(.hot) }

    /// Takes everything for the durable store, as ``takeHot()``.
    public func takeDurable() -> Taken { takeAll(.durable) }

    private func takeAll(_ lane: Lane) -> Taken {
        state.withLock { s in
            var out = Taken(delta: Delta(), position: s[lane].position)
            var kept: [Segment] = []
            for segment in s[lane].segments {
                switch segment {
                case .chunk(let c): out.delta.merge(c.delta)
                case .log: kept.append(segment)
                }
            }
            s[lane].segments = kept
            s[lane].bytes = 0
            return out
        }
    }
}

extension Delta {
    /// A rough size in memory: what the byte caps count. Cells weigh their keys, counters and usual sketch size.
    public var estimatedBytes: Int {
        cellCount * Self.cellBytes + funnelSteps.count * 96 + jobFacts.count * 112
    }

    /// What a cell counts for in ``estimatedBytes``: what a request cell takes in a lane's dictionary. Measured when its
    /// entry was 168 bytes (three `String`s, their hash and a bucket, the counters and an inline sketch); a Swift
    /// dictionary's capacity is a power of two kept under 3/4 full, ~56 % on average, so ~300 bytes a cell, plus the
    /// route's own heap string when it is longer than 15 bytes; heaptrack measured ~340 bytes of table per cell at a
    /// shipment's peak. Keys are a series number now (``SeriesLabels``), the entry ~120 bytes: the figure is kept,
    /// an overestimate, so the lanes' byte caps still bound memory from above (the shipment's peak fell, not rose).
    static let cellBytes = 384
}
