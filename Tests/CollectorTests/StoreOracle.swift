import OpsightMetrics

@testable import Collector

/// What a store holds after every batch was committed to it, computed by committing all of them at once to a fresh
/// in-memory store of the same bucket width: the exact oracle, queue wait pairing included (the pairing of a set of
/// facts does not depend on how it was split).
func storeOracle(_ batches: [[Event]], rules: AggregationRules = .init()) async throws -> (
    hot: WindowData, durable: WindowData
) {
    var hotDelta = Delta()
    var durableDelta = Delta()
    for b in batches {
        let aggregate = BatchAggregate(events: b, rules: rules)
        hotDelta.merge(aggregate.hot)
        durableDelta.merge(aggregate.durable)
    }
    let hot = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
    let durable = InMemoryMetricsStore(bucketWidthMs: TimeBucket.durableWidthMs)
    try await hot.commit(hotDelta, position: 1, collector: "oracle")
    try await durable.commit(durableDelta, position: 1, collector: "oracle")
    let all = Int64.min...Int64.max
    return (try await hot.read(service: nil, buckets: all), try await durable.read(service: nil, buckets: all))
}
