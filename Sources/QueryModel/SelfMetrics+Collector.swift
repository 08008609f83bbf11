import Collector

extension SelfMetrics {
    /// Registers the collector's families (SPEC §6): ingest, WAL, stores, flush, the cardinality guard, and the
    /// build.
    /// `pendingBytes` tells what the aggregator holds for each store (``Aggregator/bytes(_:)``; nil: not reported).
    public func registerCollector(
        status: CollectorStatus, walBytes: @escaping @Sendable () -> UInt64,
        pendingBytes: (@Sendable (Aggregator.Lane) -> Int)? = nil, version: String
    ) {
        register("opsight_ingest_events_total", type: "counter", help: "Events received by ingest, by outcome.") {
            [
                ([("outcome", "accepted")], Double(status.accepted.load(ordering: .relaxed))),
                ([("outcome", "rejected")], Double(status.rejected.load(ordering: .relaxed))),
            ]
        }
        register("opsight_ingest_bytes_total", type: "counter", help: "Ingest body bytes after decompression.") {
            Double(status.ingestBytes.load(ordering: .relaxed))
        }
        register("opsight_wal_bytes", type: "gauge", help: "Write-ahead log bytes not yet in both stores.") {
            Double(walBytes())
        }
        if let pendingBytes {
            register(
                "opsight_pending_delta_bytes", type: "gauge",
                help: "Estimated bytes of aggregated statistics held in memory for a store until its flush takes them."
            ) {
                [
                    ([("store", "redis")], Double(pendingBytes(.hot))),
                    ([("store", "postgres")], Double(pendingBytes(.durable))),
                ]
            }
        }
        register("opsight_store_errors_total", type: "counter", help: "Failed commits to a store.") {
            [
                ([("store", "redis")], Double(status.hotErrors.load(ordering: .relaxed))),
                ([("store", "postgres")], Double(status.durableErrors.load(ordering: .relaxed))),
            ]
        }
        register(
            "opsight_quarantined_deltas_total", type: "counter",
            help: "Deltas a store refused for their data, set aside so the flush moved on."
        ) { Double(status.quarantinedDeltas.load(ordering: .relaxed)) }
        register(
            "opsight_quarantined_raw_events_total", type: "counter",
            help: "Raw events the drill-down store refused for their data, set aside."
        ) { Double(status.quarantinedRawEvents.load(ordering: .relaxed)) }
        register(
            "opsight_hot_store_rebuilds_total", type: "counter",
            help: "Times this collector found the hot store had lost data and took its rebuilt epoch."
        ) { Double(status.hotRebuilds.load(ordering: .relaxed)) }
        register(
            "opsight_hot_store_rebuilding", type: "gauge",
            help: "1 while the hot store is lost or being rebuilt (hot windows are short), else 0."
        ) { status.hotState == .ok ? 0 : 1 }
        register("opsight_flush_duration_seconds", type: "gauge", help: "Duration of the last flush to Redis.") {
            Double(status.lastFlushNanos.load(ordering: .relaxed)) / 1e9
        }
        register("opsight_series_limited_total", type: "counter", help: "Request events folded into __other__.") {
            Double(status.seriesLimited.load(ordering: .relaxed))
        }
        register(
            "opsight_identity_folded_total", type: "counter",
            help: "Events whose service, queue or job was folded into __other__ by a cardinality guard."
        ) {
            [
                ([("field", "service")], Double(status.foldedServices.load(ordering: .relaxed))),
                ([("field", "queue")], Double(status.foldedQueues.load(ordering: .relaxed))),
                ([("field", "job")], Double(status.foldedJobs.load(ordering: .relaxed))),
            ]
        }
        register("opsight_build_info", type: "gauge", help: "The running build.") { [([("version", version)], 1)] }
    }
}
