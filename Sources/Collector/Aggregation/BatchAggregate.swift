import OpsightMetrics

/// Settings that decide how events become statistics.
public struct AggregationRules: Sendable {
    /// A request with a status at or above this counts as an error.
    public var errorStatusAtLeast: Int
    /// Funnels whose steps are recorded.
    public var funnels: [FunnelDefinition]
    /// Creates the rules.
    public init(errorStatusAtLeast: Int = 500, funnels: [FunnelDefinition] = []) {
        self.errorStatusAtLeast = errorStatusAtLeast
        self.funnels = funnels
    }
}

/// One ingest batch pre-aggregated at both resolutions, built off the commit thread.
///
/// The request handler builds this on its own event-loop thread so the single commit thread only merges a
/// handful of cells per batch instead of touching every event. Queue waits need the enqueue of a start, which
/// may come later, in another batch or to another collector: `enqueued` and `started` events become
/// ``JobFact``s that the stores pair (``QueueWaitPairing``), unless the start carried its own `wait_ms`.
public struct BatchAggregate: Sendable {
    /// The batch's cells in 10-second buckets.
    public var hot = Delta()
    /// The same in minute buckets. The commit thread does not use it: it rolls ``hot`` up as it merges
    /// (``Delta/merge(_:rollingUpBy:)``), which saves building this per batch.
    public var durable: Delta { hot.rolledUp(by: TimeBucket.hotPerDurable) }

    /// An empty batch.
    public init() {}

    /// Aggregates `events` under `rules` into 10-second cells; `requestKeys`, when given, holds each request event's
    /// series key (ingest's guards found them already).
    public init(events: [Event], requestKeys: [RequestKey?]? = nil, rules: AggregationRules) {
        // Room for a cell per event: over the last hour most events are a cell of their own, and growing from a
        // small table rehashes every key several times per batch.
        hot.requests.reserveCapacity(min(max(events.count, 64), 8_192))
        // Each event is aggregated once, into 10-second cells; the minute cells are sums of those (a 10 s
        // bucket lies in exactly one minute). Read in place: `for event in events` copied every event, retaining
        // each of its strings (~4 % of the collector at full HTTP ingest).
        guard let requestKeys, requestKeys.count == events.count else {
            Self.add(events, rules: rules, widthMs: TimeBucket.hotWidthMs, to: &hot)
            return
        }
        events.withUnsafeBufferPointer { events in
            guard let first = events.baseAddress else { return }
            for i in events.indices {
                Self.add(first + i, key: requestKeys[i], rules: rules, widthMs: TimeBucket.hotWidthMs, to: &hot)
            }
        }
    }

    /// Adds `events` under `rules` to `delta`'s cells of buckets `widthMs` wide, as merging their aggregate (rolled up
    /// to that width) would: the flush's read-back of the log adds each record's events straight into the chunk it
    /// builds, rather than into a delta per record merged into the chunk after (a dictionary insertion per event
    /// less; a shipment of the last hour is about a cell per event).
    /// `requestKeys`, when given, holds each request event's series key (found in the record by
    /// ``EventCodec/decodeForAggregation(_:strings:)``).
    public static func add(
        _ events: [Event], requestKeys: [RequestKey?]? = nil, rules: AggregationRules, widthMs: Int64,
        to delta: inout Delta
    ) {
        events.withUnsafeBufferPointer { events in
            guard let first = events.baseAddress else { return }
            if let requestKeys, requestKeys.count == events.count {
                for i in events.indices {
                    add(first + i, key: requestKeys[i], rules: rules, widthMs: widthMs, to: &delta)
                }
            } else {
                for i in events.indices { add(first + i, key: nil, rules: rules, widthMs: widthMs, to: &delta) }
            }
        }
    }

    /// Adds one event to the cells of `hot` (buckets `widthMs` wide: a right-closed grid that the 10-second one nests
    /// in, so an event lands in the bucket its 10-second bucket rolls up to).
    ///
    /// The event is read through a pointer, field by field: an `Event` passed by value (`events[i]`) was copied, nine
    /// optional strings retained and released per event (perf: ~3 % of the machine at full HTTP ingest).
    private static func add(
        _ event: UnsafePointer<Event>, key: RequestKey?, rules: AggregationRules, widthMs: Int64, to hot: inout Delta
    ) {
        // Only an event that names its entity can be a funnel step, so most events cost one nil check here.
        // The funnels and their steps are read in place too: `for funnel in rules.funnels` copied each definition and
        // step, retaining their strings, for every step of every event that names an entity.
        if let entity = event.pointee.entity, !rules.funnels.isEmpty {
            rules.funnels.withUnsafeBufferPointer { funnels in
                for f in funnels.indices {
                    funnels[f].steps.withUnsafeBufferPointer { steps in
                        for i in steps.indices where steps[i].matches(event) {
                            hot.funnelSteps.insert(
                                FunnelStepRecord(
                                    funnel: funnels[f].storageName, step: i, entity: entity,
                                    timestampMs: event.pointee.timestampMs))
                        }
                    }
                }
            }
        }
        let hotBucket = TimeBucket.index(ofMs: event.pointee.timestampMs, widthMs: widthMs)
        switch event.pointee.kind {
        case .request:
            let key = key ?? RequestKey(of: event)
            let status = event.pointee.status ?? 0
            let duration = event.pointee.durationMs ?? 0
            let isError = status >= rules.errorStatusAtLeast
            hot.requests[Bucketed(key, bucket: hotBucket), default: RequestStats()]
                .record(status: status, durationMs: duration, isError: isError)
        case .job:
            guard let type = event.pointee.jobEvent else { return }
            let key = JobKey(
                service: event.pointee.service, queue: event.pointee.queue ?? "", job: event.pointee.job ?? "")
            let hk = Bucketed(key, bucket: hotBucket)
            hot.jobs[hk, default: JobStats()].record(type)
            if type == .succeeded || type == .failed, let d = event.pointee.durationMs {
                hot.jobs[hk, default: JobStats()].duration.add(d)
            }
            if type == .started, let wait = event.pointee.waitMs {
                hot.jobs[hk, default: JobStats()].wait.add(wait)
            } else if let jobID = event.pointee.jobID, type == .enqueued || type == .started {
                let (service, ms) = (event.pointee.service, event.pointee.timestampMs)
                hot.jobFacts.insert(
                    type == .enqueued
                        ? .enqueued(service: service, jobID: jobID, timestampMs: ms)
                        : .started(service: service, jobID: jobID, timestampMs: ms, queue: key.queue, job: key.job))
            }
        case .log:
            let level = event.pointee.level ?? .info
            hot.logs[Bucketed(event.pointee.service, bucket: hotBucket), default: LogStats()].record(level)
        case .event:
            // Named events feed funnels only (recorded above), not request/job/log series.
            break
        }
    }
}
