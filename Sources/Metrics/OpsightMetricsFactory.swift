import CoreMetrics
import Synchronization

/// A swift-metrics backend writing into an ``OpsightEmitter``.
///
/// Mapping (the dimension names are configurable in ``Configuration``):
/// - a **timer** with route and status dimensions (`route`/`http.route`, `method`/`http.request.method`,
///   `status`/`http.response.status_code`, as Hummingbird's `MetricsMiddleware` writes them) emits one
///   `kind: request` event per recording;
/// - a **timer** with `queue` and `job` dimensions emits one `kind: job` event per recording (`event`
///   from an `event` dimension, default `succeeded`; `job_id` and `attempt` from dimensions when present);
/// - a **counter** with an `entity` dimension emits one `kind: event` funnel event per increment, named
///   by the label;
/// - every other counter, recorder, meter and timer is aggregated in memory and written by
///   ``reportSnapshot()`` (periodically by ``run()``) as one `kind: log` event per series: `msg` `"metric"`,
///   `metric` (label), `metric_type` (`counter`, `gauge`, `recorder`, `timer`), the values (`value`, or
///   `count`, `sum`, `min`, `max`, `last`; `_ms` for timers) and the dimensions as fields. Schema v1 has no
///   metric kind, so the collector keeps these raw without aggregating them.
///
/// Handlers are cached per label and dimensions, as metrics are commonly created per use.
public final class OpsightMetricsFactory: MetricsFactory {
    /// Where events and reports go.
    public let emitter: OpsightEmitter
    /// How series map onto events.
    public let configuration: Configuration
    /// Times periodic reports.
    let clock: any Clock<Duration>
    /// Aggregated series, by label and dimensions.
    let aggregates = Mutex<[MetricSeries: any AggregateMetric]>([:])

    /// Creates a backend writing into `emitter`; `clock` times ``run()``'s reports.
    public init(
        emitter: OpsightEmitter,
        configuration: Configuration = .init(),
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.emitter = emitter
        self.configuration = configuration
        self.clock = clock
    }

    /// A request or job timer when the dimensions say so, else an aggregated timer.
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let series = MetricSeries(label: label, dimensions: dimensions)
        if let timer = requestTimer(series) ?? jobTimer(series) { return timer }
        return aggregate(series) { AggregateRecorder(series: $0, typeName: "timer", aggregate: true) }
    }

    /// A funnel counter when there is an entity dimension, else an aggregated counter.
    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let series = MetricSeries(label: label, dimensions: dimensions)
        if let entity = series.value([configuration.entityDimension]) {
            return FunnelCounter(
                emitter: emitter, event: label, entity: entity,
                fields: series.fields(excluding: [configuration.entityDimension]))
        }
        return aggregate(series) { AggregateCounter(series: $0) }
    }

    /// An aggregated recorder (`aggregate: false` reports the last value, like a gauge).
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        let series = MetricSeries(label: label, dimensions: dimensions)
        return self.aggregate(series) {
            AggregateRecorder(series: $0, typeName: aggregate ? "recorder" : "gauge", aggregate: aggregate)
        }
    }

    /// An aggregated meter (a gauge).
    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        aggregate(MetricSeries(label: label, dimensions: dimensions)) { AggregateMeter(series: $0) }
    }

    /// Forgets an aggregated counter.
    public func destroyCounter(_ handler: any CounterHandler) { forget(handler) }
    /// Forgets an aggregated meter.
    public func destroyMeter(_ handler: any MeterHandler) { forget(handler) }
    /// Forgets an aggregated recorder.
    public func destroyRecorder(_ handler: any RecorderHandler) { forget(handler) }
    /// Forgets an aggregated timer.
    public func destroyTimer(_ handler: any TimerHandler) { forget(handler) }

    /// The cached aggregate of `series`, created by `make` the first time; a cached one of another
    /// type (same label and dimensions used for two metric types) is replaced.
    private func aggregate<H: AggregateMetric>(_ series: MetricSeries, _ make: (MetricSeries) -> H) -> H {
        aggregates.withLock { aggregates in
            if let existing = aggregates[series] as? H { return existing }
            let created = make(series)
            aggregates[series] = created
            return created
        }
    }

    /// Removes `handler` from the cache if it is an aggregate.
    private func forget(_ handler: AnyObject) {
        guard let metric = handler as? any AggregateMetric else { return }
        aggregates.withLock { aggregates in
            if let cached = aggregates[metric.series], cached === metric { aggregates[metric.series] = nil }
        }
    }
}
