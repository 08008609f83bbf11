import Collector
import Foundation
import HTTPLayer
import Hummingbird
import OpsightMetrics
import PromQL

/// `GET /api/v1/status` (`read` scope): what an operator checks first — version, uptime, write-ahead-log
/// backlog, store health and ingest counters, from the same live counters as `/metrics`.
public struct StatusController<Context: RequestContext>: Sendable {
    /// What the status page reports besides the live counters.
    public struct Configuration: Sendable {
        public var version: String
        public var collectorID: String
        public var windowsMs: [Int64]
        /// When the process started, unix milliseconds.
        public var startedAtMs: Int64
        /// Creates the configuration.
        public init(version: String, collectorID: String, windowsMs: [Int64], startedAtMs: Int64) {
            self.version = version
            self.collectorID = collectorID
            self.windowsMs = windowsMs
            self.startedAtMs = startedAtMs
        }
    }

    private let configuration: Configuration
    private let status: CollectorStatus
    private let pipeline: IngestPipeline
    private let clock: WallClock

    /// Creates the controller.
    public init(
        configuration: Configuration, status: CollectorStatus, pipeline: IngestPipeline, clock: WallClock = .system
    ) {
        self.configuration = configuration
        self.status = status
        self.pipeline = pipeline
        self.clock = clock
    }

    /// Adds the route, with the `read` scope.
    public func register(on routes: ScopedRoutes<Context>) {
        routes.group("/api/v1", scope: .read).get("status") { _, _ in try JSONResponse.ok(body()) }
    }

    func body() -> JSON {
        func n(_ v: UInt64) -> JSON { .number(Double(v)) }
        let backlog = pipeline.walBacklogBytes
        let nowMs = clock.nowMs()
        return .object([
            "version": .string(configuration.version),
            "collector_id": .string(configuration.collectorID),
            "started_at": .number(Double(configuration.startedAtMs) / 1000),
            "uptime_seconds": .number(Double(nowMs - configuration.startedAtMs) / 1000),
            "windows": .array(configuration.windowsMs.map { .string(PromDuration.format($0)) }),
            "wal": .object([
                "backlog_bytes": n(backlog), "max_bytes": n(pipeline.configuration.walMaxBytes),
                "full": .bool(backlog > pipeline.configuration.walMaxBytes),
                "hot_position": n(status.hotPosition.load(ordering: .relaxed)),
                "durable_position": n(status.durablePosition.load(ordering: .relaxed)),
            ]),
            "stores": .object([
                "redis": .object([
                    "up": .bool(status.hotUp.load(ordering: .relaxed)),
                    "errors": n(status.hotErrors.load(ordering: .relaxed)),
                    // Whether it holds its data (docs/hot-store-loss.md): ok, lost or rebuilding.
                    "state": .string(status.hotState.name),
                    "epoch": status.hotEpoch.withLock { $0 }.map(JSON.string) ?? .null,
                    "rebuilds": n(status.hotRebuilds.load(ordering: .relaxed)),
                    "rebuilds_led": n(status.hotRebuildsLed.load(ordering: .relaxed)),
                ]),
                "postgres": .object([
                    "up": .bool(status.durableUp.load(ordering: .relaxed)),
                    "errors": n(status.durableErrors.load(ordering: .relaxed)),
                ]),
            ]),
            "ingest": .object([
                "accepted_events": n(status.accepted.load(ordering: .relaxed)),
                "rejected_events": n(status.rejected.load(ordering: .relaxed)),
                "refused_batches": n(status.refusedBatches.load(ordering: .relaxed)),
                "bytes": n(status.ingestBytes.load(ordering: .relaxed)),
                "series_limited": n(status.seriesLimited.load(ordering: .relaxed)),
                "identities_folded": .object([
                    "service": n(status.foldedServices.load(ordering: .relaxed)),
                    "queue": n(status.foldedQueues.load(ordering: .relaxed)),
                    "job": n(status.foldedJobs.load(ordering: .relaxed)),
                ]),
            ]),
            "quarantined": .object([
                "deltas": n(status.quarantinedDeltas.load(ordering: .relaxed)),
                "raw_events": n(status.quarantinedRawEvents.load(ordering: .relaxed)),
            ]),
            "last_flush_seconds": .number(Double(status.lastFlushNanos.load(ordering: .relaxed)) / 1e9),
        ])
    }
}
