import CoreMetrics

extension OpsightMetricsFactory {
    /// A request timer when the series has a route and an integer status.
    func requestTimer(_ series: MetricSeries) -> (any TimerHandler)? {
        let c = configuration
        guard let route = series.value(c.routeDimensions),
            let status = series.value(c.statusDimensions).flatMap({ Int($0) })
        else { return nil }
        let method = series.value(c.methodDimensions) ?? "ANY"
        let used = c.routeDimensions + c.methodDimensions + c.statusDimensions
        return RequestTimer(
            emitter: emitter, route: route, method: method, status: status, fields: series.fields(excluding: used))
    }

    /// A job timer when the series has a queue and a job type.
    func jobTimer(_ series: MetricSeries) -> (any TimerHandler)? {
        let c = configuration
        guard let queue = series.value(c.queueDimensions), let job = series.value(c.jobDimensions) else { return nil }
        let event = series.value(c.jobEventDimensions).flatMap { JobEventType(rawString: $0) } ?? .succeeded
        let used = c.queueDimensions + c.jobDimensions + c.jobIDDimensions + c.jobEventDimensions + c.attemptDimensions
        let attempt = series.value(c.attemptDimensions).flatMap { Int($0) }
        return JobTimer(
            emitter: emitter, label: series.label, queue: queue, job: job, jobID: series.value(c.jobIDDimensions),
            event: event, attempt: attempt, fields: series.fields(excluding: used))
    }
}
