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
}
