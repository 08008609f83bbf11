import Collector

/// An in-memory metrics store whose commits first go through a hook, which may refuse them (throw), slow them down
/// or take notes: the stores that tests of the flush put in the place of Redis or PostgreSQL. `onTidy` runs in each
/// ``tidy(while:)`` call, with its `keepGoing`.
final class HookedMetricsStore: MetricsStore {
    let inner: InMemoryMetricsStore
    private let beforeCommit: @Sendable (Delta) async throws -> Void
    private let onTidy: (@Sendable (() -> Bool) async -> Void)?

    init(
        bucketWidthMs: Int64, beforeCommit: @escaping @Sendable (Delta) async throws -> Void,
        onTidy: (@Sendable (() -> Bool) async -> Void)? = nil
    ) {
        inner = InMemoryMetricsStore(bucketWidthMs: bucketWidthMs)
        self.beforeCommit = beforeCommit
        self.onTidy = onTidy
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
    func tidy(while keepGoing: () -> Bool) async { await onTidy?(keepGoing) }
}
