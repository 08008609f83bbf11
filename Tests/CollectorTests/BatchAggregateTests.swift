import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

@Suite struct BatchAggregateTests {
    /// The minute cells, derived from the 10-second cells, equal aggregating each event straight into its minute.
    @Test(arguments: [21, 22, 23] as [UInt64])
    func minuteCellsEqualDirectAggregation(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let events = randomEvents(count: 3_000, baseMs: 1_795_000_000_000, spanMs: 900_000, rng: &rng)
        let batch = BatchAggregate(events: events, rules: .init(errorStatusAtLeast: 500))
        var requests: [Bucketed<RequestKey>: RequestStats] = [:]
        var jobs: [Bucketed<JobKey>: JobStats] = [:]
        var logs: [Bucketed<String>: LogStats] = [:]
        for e in events {
            let minute = TimeBucket.index(ofMs: e.timestampMs, widthMs: 60_000)
            switch e.kind {
            case .request:
                requests[Bucketed(RequestKey(service: e.service, route: e.route!, method: e.method!), bucket: minute), default: .init()]
                    .record(status: e.status!, durationMs: e.durationMs!, isError: e.status! >= 500)
            case .job:
                let k = Bucketed(JobKey(service: e.service, queue: e.queue!, job: e.job!), bucket: minute)
                jobs[k, default: .init()].record(e.jobEvent!)
                if e.jobEvent == .succeeded || e.jobEvent == .failed { jobs[k, default: .init()].duration.add(e.durationMs!) }
            case .log:
                logs[Bucketed(e.service, bucket: minute), default: .init()].record(e.level!)
            case .event:
                break
            }
        }
        #expect(batch.durable.requests == requests)
        #expect(batch.durable.jobs == jobs)
        #expect(batch.durable.logs == logs)
        #expect(batch.hot.requests.values.reduce(0) { $0 + $1.count } == UInt64(events.filter { $0.kind == .request }.count))
    }

    /// Records added straight into one delta (the flush's read-back of the log) equal their aggregates merged, in
    /// 10-second cells and rolled up to minutes alike, with times at the ends of `Int64` and funnel steps and job facts
    /// among the events.
    @Test(arguments: [24, 25] as [UInt64])
    func recordsAddedIntoOneDeltaEqualTheirAggregatesMerged(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var records = (0..<5).map { _ in
            randomEvents(count: 700, baseMs: 1_795_000_000_000, spanMs: 3_600_000, rng: &rng)
        }
        for (i, ms) in [Int64.min, Int64.max, -1, 0, -59_999].enumerated() { records[i][i].timestampMs = ms }
        var step = Event(timestampMs: 1_795_000_000_000, service: "api", kind: .event)
        (step.name, step.entity) = ("signup", "user-1")
        var start = Event(timestampMs: 1_795_000_000_500, service: "api", kind: .job)
        (start.queue, start.job, start.jobID, start.jobEvent) = ("q", "j", "id-1", .started)
        records[1] += [step, start]
        let rules = AggregationRules(
            errorStatusAtLeast: 500,
            funnels: [FunnelDefinition(name: "f", windowMs: 86_400_000, steps: [.init(name: "signup", matcher: .event("signup"))])])
        for (widthMs, factor) in [(TimeBucket.hotWidthMs, Int64(1)), (TimeBucket.durableWidthMs, TimeBucket.hotPerDurable)] {
            var merged = Delta()
            var added = Delta()
            for events in records {
                merged.merge(BatchAggregate(events: events, rules: rules).hot, rollingUpBy: factor)
                BatchAggregate.add(events, rules: rules, widthMs: widthMs, to: &added)
            }
            #expect(added == merged, "\(widthMs) ms")
            #expect(!added.funnelSteps.isEmpty && !added.jobFacts.isEmpty && added.cellCount > 1_000)
        }
    }
}
