import Collector

/// An in-memory metrics store whose commits first go through a hook, which may refuse them (throw), slow them down
/// or take notes: the stores that tests of the flush put in the place of Redis or PostgreSQL.
final class HookedMetricsStore: MetricsStore {
    let inner: InMemoryMetricsStore
    private let beforeCommit: @Sendable (Delta) async throws -> Void
    private let onCompact: (@Sendable (ClosedRange<Int64>) -> Void)?

    init(
        bucketWidthMs: Int64, onCompact: (@Sendable (ClosedRange<Int64>) -> Void)? = nil,
        beforeCommit: @escaping @Sendable (Delta) async throws -> Void
    ) {
        inner = InMemoryMetricsStore(bucketWidthMs: bucketWidthMs)
        self.onCompact = onCompact
        self.beforeCommit = beforeCommit
    }
    /// Goes through `buckets` five at a time, as the PostgreSQL store goes through occupied minutes, telling
    /// `onCompact` each five.
    func compact(buckets: ClosedRange<Int64>, while goOn: @Sendable () -> Bool) async throws -> Int64? {
        var done: Int64?
        var lo = buckets.lowerBound
        while goOn() {
            let hi = buckets.upperBound - lo < 5 ? buckets.upperBound : lo + 4
            onCompact?(lo...hi)
            done = hi
            if hi == buckets.upperBound { break }
            lo = hi + 1
        }
        return done
    }
    var bucketWidthMs: Int64 { inner.bucketWidthMs }
    var retentionMs: Int64? { inner.retentionMs }
    func committedPosition(collector: String) async throws -> UInt64 {
        try await inner.committedPosition(collector: collector)
    }
    func commit(_ delta: Delta, position: UInt64, collector: String) async throws {
        try await beforeCommit(delta)
        try await inner.commit(delta, position: position, collector: collector)
    }
    func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData {
        try await inner.read(service: service, buckets: buckets)
    }
    func services() async throws -> [String] { try await inner.services() }
    func ping() async throws { try await inner.ping() }
}
