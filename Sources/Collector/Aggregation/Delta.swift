/// Additive statistics of many series in time buckets of one width: what a flush writes and a store sums.
///
/// Every field adds up under `merge`, so two collectors' deltas (or a delta retried after a failed flush)
/// combine exactly; that is what keeps quantiles exact-merge across collectors.
public struct Delta: Sendable, Equatable {
    public var requests: [Bucketed<RequestKey>: RequestStats] = [:]
    public var jobs: [Bucketed<JobKey>: JobStats] = [:]
    /// Log counts keyed by service.
    public var logs: [Bucketed<String>: LogStats] = [:]
    /// Funnel steps done, as facts (a set: recording one twice is recording it once).
    public var funnelSteps: Set<FunnelStepRecord> = []
    /// Job `enqueued`/`started` facts, paired into queue wait by the store that takes them (``QueueWaitPairing``).
    public var jobFacts: Set<JobFact> = []

    /// No statistics.
    public init() {}

    /// True when there is nothing to write.
    public var isEmpty: Bool {
        requests.isEmpty && jobs.isEmpty && logs.isEmpty && funnelSteps.isEmpty && jobFacts.isEmpty
    }

    /// Number of (series, bucket) cells.
    public var cellCount: Int { requests.count + jobs.count + logs.count }

    /// Adds every cell of `other`.
    public mutating func merge(_ other: Delta) {
        for (k, v) in other.requests { requests[k, default: RequestStats()].merge(v) }
        for (k, v) in other.jobs { jobs[k, default: JobStats()].merge(v) }
        for (k, v) in other.logs { logs[k, default: LogStats()].merge(v) }
        mergeFacts(other)
    }

    /// Adds `other`'s funnel step records and job facts; into empty sets (a lane's first batch after a flush) by taking
    /// `other`'s, not by hashing each element in again.
    private mutating func mergeFacts(_ other: Delta) {
        if funnelSteps.isEmpty { funnelSteps = other.funnelSteps } else { funnelSteps.formUnion(other.funnelSteps) }
        if jobFacts.isEmpty { jobFacts = other.jobFacts } else { jobFacts.formUnion(other.jobFacts) }
    }

    /// Adds every cell of `other` in buckets `factor` times wider than its own (bucket k goes to ⌈k / factor⌉,
    /// which holds it because both grids are right-closed: `(k·w − w, k·w] ⊂ (m·f·w − f·w, m·f·w]`).
    ///
    /// The commit thread merges a batch's 10-second cells straight into the minute lane this way: building the
    /// minute cells per batch first was a dictionary filled and freed per request (~6 % of the collector's CPU
    /// at full HTTP ingest, docs/benchmarks.md).
    public mutating func merge(_ other: Delta, rollingUpBy factor: Int64) {
        guard factor != 1 else { return merge(other) }
        func wide(_ k: Int64) -> Int64 { TimeBucket.index(ofMs: k, widthMs: factor) }
        for (k, v) in other.requests { requests[Bucketed(k.key, bucket: wide(k.bucket)), default: RequestStats()].merge(v) }
        for (k, v) in other.jobs { jobs[Bucketed(k.key, bucket: wide(k.bucket)), default: JobStats()].merge(v) }
        for (k, v) in other.logs { logs[Bucketed(k.key, bucket: wide(k.bucket)), default: LogStats()].merge(v) }
        mergeFacts(other)
    }

    /// The same statistics in buckets `factor` times wider (see ``merge(_:rollingUpBy:)``).
    public func rolledUp(by factor: Int64) -> Delta {
        var out = Delta()
        out.requests.reserveCapacity(requests.count)
        out.merge(self, rollingUpBy: factor)
        return out
    }

    /// Every service that has a cell.
    public var services: Set<String> {
        var s = Set<String>()
        for k in requests.keys { s.insert(k.key.service) }
        for k in jobs.keys { s.insert(k.key.service) }
        for k in logs.keys { s.insert(k.key) }
        return s
    }
}

/// Statistics of many series merged over a set of buckets: what a window read returns.
public struct WindowData: Sendable, Equatable {
    public var requests: [RequestKey: RequestStats] = [:]
    public var jobs: [JobKey: JobStats] = [:]
    public var logs: [String: LogStats] = [:]

    /// Nothing.
    public init() {}

    /// Adds the cells of `delta`, dropping their buckets.
    public mutating func merge(_ delta: Delta) {
        for (k, v) in delta.requests { requests[k.key, default: RequestStats()].merge(v) }
        for (k, v) in delta.jobs { jobs[k.key, default: JobStats()].merge(v) }
        for (k, v) in delta.logs { logs[k.key, default: LogStats()].merge(v) }
    }

    /// Adds another window's series.
    public mutating func merge(_ other: WindowData) {
        for (k, v) in other.requests { requests[k, default: RequestStats()].merge(v) }
        for (k, v) in other.jobs { jobs[k, default: JobStats()].merge(v) }
        for (k, v) in other.logs { logs[k, default: LogStats()].merge(v) }
    }

    /// Adds the counts of `other` that the `_total` counters hold, in the shape a read of the stores' running totals
    /// (``MetricsStore/totals()``) gives them: a request series' status classes (its count their sum, no errors, no
    /// latency), a job series' lifecycle events (no durations or waits), a service's log levels. Series with none of
    /// them are left out, as such a read leaves them out.
    public mutating func addCounts(of other: WindowData) {
        // In place through `subscript(_:default:)`: one hash of the key per series (this runs for every cell of every
        // change the hot cache follows).
        for (k, v) in other.requests where v.class1xx | v.class2xx | v.class3xx | v.class4xx | v.class5xx > 0 {
            Self.addClasses(of: v, to: &requests[k, default: RequestStats()])
        }
        for (k, v) in other.jobs where v.enqueued | v.started | v.succeeded | v.failed | v.retried > 0 {
            Self.addEvents(of: v, to: &jobs[k, default: JobStats()])
        }
        for (k, v) in other.logs where !v.isZero { logs[k, default: LogStats()].merge(v) }
    }

    static func addClasses(of v: RequestStats, to s: inout RequestStats) {
        s.class1xx &+= v.class1xx
        s.class2xx &+= v.class2xx
        s.class3xx &+= v.class3xx
        s.class4xx &+= v.class4xx
        s.class5xx &+= v.class5xx
        s.count &+= v.class1xx &+ v.class2xx &+ v.class3xx &+ v.class4xx &+ v.class5xx
    }

    static func addEvents(of v: JobStats, to s: inout JobStats) {
        s.enqueued &+= v.enqueued
        s.started &+= v.started
        s.succeeded &+= v.succeeded
        s.failed &+= v.failed
        s.retried &+= v.retried
    }
}
