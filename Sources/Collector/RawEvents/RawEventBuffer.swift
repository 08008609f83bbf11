import OpsightMetrics
import Synchronization

/// Raw events between ingest and their store: bounded, never blocking ingest.
///
/// Every error event is kept while there is room for it (`capacity`); other events are kept whole while the
/// buffer is below `sampleAbove` of its capacity, and sampled at `sampleRate` above it, so a store that cannot
/// keep up costs detail, not ingest. What is left out is counted.
public final class RawEventBuffer: Sendable {
    /// Limits.
    public struct Configuration: Sendable {
        /// Most rows held.
        public var capacity = 200_000
        /// Fill level (0…1) above which non-error events are sampled.
        public var sampleAbove = 0.25
        /// Share of non-error events kept while sampling.
        public var sampleRate = 0.01
        /// Creates the defaults.
        public init() {}
    }

    /// Counters of what happened to offered events.
    public struct Counts: Sendable, Equatable {
        public var kept: UInt64 = 0
        public var sampledOut: UInt64 = 0
        public var droppedErrors: UInt64 = 0
        public var droppedFull: UInt64 = 0
    }

    private struct State {
        var rows: [RawEvent] = []
        var counts = Counts()
        var random = SplitMix64(seed: 0x5EED)
    }

    public let configuration: Configuration
    private let state = Mutex(State())

    /// Creates an empty buffer.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Whether an event would be kept now, `pending` rows of its batch having been wanted already; asked before
    /// its line is copied, so sampling saves the copy.
    public func wants(isError: Bool, pending: Int = 0) -> Bool {
        state.withLock { s in
            let held = s.rows.count + pending
            if held >= configuration.capacity { return isError }
            if isError || Double(held) < configuration.sampleAbove * Double(configuration.capacity) { return true }
            return Double(s.random.next() >> 11) / Double(1 << 53) < configuration.sampleRate
        }
    }

    /// Adds rows chosen with `wants`, and counts the ones that were not (`offered − rows`, non-errors).
    public func add(_ rows: [RawEvent], sampledOut: Int) {
        state.withLock { s in
            s.counts.sampledOut += UInt64(sampledOut)
            for row in rows {
                if s.rows.count < configuration.capacity {
                    s.rows.append(row)
                    s.counts.kept += 1
                } else if row.isError {
                    s.counts.droppedErrors += 1
                } else {
                    s.counts.droppedFull += 1
                }
            }
        }
    }

    /// Takes up to `max` rows, oldest first.
    public func take(max: Int) -> [RawEvent] {
        state.withLock { s in
            let n = min(max, s.rows.count)
            let out = Array(s.rows.prefix(n))
            s.rows.removeFirst(n)
            return out
        }
    }

    /// Puts rows back at the front (a failed write), as far as they fit.
    public func putBack(_ rows: [RawEvent]) {
        state.withLock { s in
            let room = max(0, configuration.capacity - s.rows.count)
            s.rows.insert(contentsOf: rows.prefix(room), at: 0)
            for row in rows.dropFirst(room) {
                if row.isError { s.counts.droppedErrors += 1 } else { s.counts.droppedFull += 1 }
            }
        }
    }

    /// Rows waiting.
    public var count: Int { state.withLock { $0.rows.count } }

    /// The counters so far.
    public var counts: Counts { state.withLock { $0.counts } }
}
