import OpsightMetrics
import Synchronization

/// Raw events between ingest and their store: bounded, never blocking ingest.
///
/// Every error event is kept while there is room for it (`capacity` rows and `maxBytes` bytes); other events are
/// kept whole while the buffer is below `sampleAbove` of the fuller of the two limits, and sampled at `sampleRate` above it, so a store that cannot
/// keep up costs detail, not ingest. What is left out is counted.
public final class RawEventBuffer: Sendable {
    /// Limits.
    public struct Configuration: Sendable {
        /// Most rows held.
        public var capacity = 100_000
        /// Most bytes held (lines plus a fixed cost per row): with lines of up to 64 KiB the row count alone
        /// would allow 100 000 × 64 KiB, about 6.5 GB. 32 MiB is ~60 000 rows of 300-byte lines, three seconds of the
        /// writer's default rate, inside the collector's 300 MB (SPEC §11).
        public var maxBytes = 32 << 20
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
        /// ``RawEventBuffer/cost(_:)`` of `rows`.
        var bytes = 0
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
            if held >= configuration.capacity || s.bytes >= configuration.maxBytes { return isError }
            // The fill level is the fuller of the two limits.
            let fill = max(
                Double(held) / Double(configuration.capacity), Double(s.bytes) / Double(configuration.maxBytes))
            if isError || fill < configuration.sampleAbove { return true }
            return Double(s.random.next() >> 11) / Double(1 << 53) < configuration.sampleRate
        }
    }

    /// Adds rows chosen with `wants`, and counts the ones that were not (`offered − rows`, non-errors).
    public func add(_ rows: [RawEvent], sampledOut: Int) {
        state.withLock { s in
            s.counts.sampledOut += UInt64(sampledOut)
            for row in rows {
                let cost = Self.cost(row)
                if s.rows.count < configuration.capacity && s.bytes + cost <= configuration.maxBytes {
                    s.rows.append(row)
                    s.bytes += cost
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
            s.bytes -= out.reduce(0) { $0 + Self.cost($1) }
            return out
        }
    }

    /// Puts rows back at the front (a failed write), as far as they fit.
    public func putBack(_ rows: [RawEvent]) {
        state.withLock { s in
            let room = max(0, configuration.capacity - s.rows.count)
            var back: [RawEvent] = []
            var added = 0
            for row in rows {
                let cost = Self.cost(row)
                if back.count < room && s.bytes + added + cost <= configuration.maxBytes {
                    back.append(row)
                    added += cost
                } else if row.isError {
                    s.counts.droppedErrors += 1
                } else {
                    s.counts.droppedFull += 1
                }
            }
            s.rows.insert(contentsOf: back, at: 0)
            s.bytes += added
        }
    }

    /// Rows waiting.
    public var count: Int { state.withLock { $0.rows.count } }

    /// Bytes the waiting rows cost (``cost(_:)``).
    public var bytes: Int { state.withLock { $0.bytes } }

    /// What a row costs against `maxBytes`: its line and its fields, plus a fixed 256 bytes for the rest.
    static func cost(_ row: RawEvent) -> Int {
        row.line.utf8.count + row.service.utf8.count + (row.route?.utf8.count ?? 0) + (row.queue?.utf8.count ?? 0)
            + (row.job?.utf8.count ?? 0) + 256
    }

    /// The counters so far.
    public var counts: Counts { state.withLock { $0.counts } }
}
