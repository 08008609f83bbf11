import Synchronization

/// A `MetricsStore` in process memory, for unit tests and quick trials; never the real path.
public final class InMemoryMetricsStore: MetricsStore {
    private struct State {
        var cells = Delta()
        var positions: [String: UInt64] = [:]
        var failing = false
    }

    public let bucketWidthMs: Int64
    public let retentionMs: Int64?
    private let state = Mutex(State())

    /// Creates an empty store with buckets of `bucketWidthMs`.
    public init(bucketWidthMs: Int64, retentionMs: Int64? = nil) {
        self.bucketWidthMs = bucketWidthMs
        self.retentionMs = retentionMs
    }

    /// Makes every call fail (or succeed again), to test store outages.
    public func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    public func committedPosition(collector: String) async throws -> UInt64 {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
            return s.positions[collector] ?? 0
        }
    }

    public func commit(_ delta: Delta, position: UInt64, collector: String) async throws {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
            s.cells.merge(delta)
            s.positions[collector] = position
        }
    }

    public func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
            var out = WindowData()
            var slice = Delta()
            slice.requests = s.cells.requests.filter { buckets.contains($0.key.bucket) && (service == nil || $0.key.key.service == service) }
            slice.jobs = s.cells.jobs.filter { buckets.contains($0.key.bucket) && (service == nil || $0.key.key.service == service) }
            slice.logs = s.cells.logs.filter { buckets.contains($0.key.bucket) && (service == nil || $0.key.key == service) }
            out.merge(slice)
            return out
        }
    }

    public func services() async throws -> [String] {
        state.withLock { $0.cells.services.sorted() }
    }

    public func ping() async throws {
        try state.withLock { s in
            if s.failing { throw CollectorError(.store, "in-memory store is failing") }
        }
    }
}
