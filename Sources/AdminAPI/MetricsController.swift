import Collector
import Foundation
import Hummingbird
import OpsightMetrics

/// `GET /metrics`: every family of SPEC §6 in the Prometheus text format, for Prometheus to scrape.
public struct MetricsController<Context: RequestContext>: Sendable {
    /// What the exposition reads.
    public struct Configuration: Sendable {
        /// Windows exposed on the windowed gauges, in milliseconds.
        public var windowsMs: [Int64]
        /// Quantiles exposed on the latency gauges.
        public var quantiles: [Double]
        /// Serve without a token.
        public var isPublic: Bool
        /// The build's version for `opsight_build_info`.
        public var version: String
        /// Creates the configuration.
        public init(
            windowsMs: [Int64] = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000],
            quantiles: [Double] = [0.5, 0.95, 0.99], isPublic: Bool = false, version: String
        ) {
            self.windowsMs = windowsMs
            self.quantiles = quantiles
            self.isPublic = isPublic
            self.version = version
        }
    }

    private let configuration: Configuration
    private let reader: MetricsReader
    private let hot: any MetricsStore
    private let tokens: AccessTokens
    private let status: CollectorStatus
    private let walBytes: @Sendable () -> UInt64
    private let now: @Sendable () -> Int64
    private let funnels: FunnelReader?

    /// Creates the controller.
    public init(
        configuration: Configuration, reader: MetricsReader, hot: any MetricsStore, tokens: AccessTokens,
        status: CollectorStatus, walBytes: @escaping @Sendable () -> UInt64, funnels: FunnelReader? = nil,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.configuration = configuration
        self.funnels = funnels
        self.reader = reader
        self.hot = hot
        self.tokens = tokens
        self.status = status
        self.walBytes = walBytes
        self.now = now
    }

    /// Adds the route to `router`.
    public func register(on router: Router<Context>) {
        router.get("/metrics") { request, _ in
            if !configuration.isPublic { try tokens.authorize(request, scope: "read") }
            let text = try await render()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    /// The whole exposition at the current time.
    func render() async throws -> String {
        let t = now()
        let windows = try await withThrowingTaskGroup(of: (Int64, WindowData).self) { group in
            for w in configuration.windowsMs {
                group.addTask { (w, try await reader.window(service: nil, windowMs: w, timeMs: nil, nowMs: t).data) }
            }
            var out: [(Int64, WindowData)] = []
            for try await r in group { out.append(r) }
            return out.sorted { $0.0 < $1.0 }
        }
        let totals = try await hot.totals()
        let funnelFigures = try await funnels?.allFigures(windowsMs: configuration.windowsMs, timeMs: t, nowMs: t) ?? []
        var p = PrometheusText()
        WindowFamilies(windows: windows, quantiles: configuration.quantiles).write(to: &p)
        if !funnelFigures.isEmpty {
            FunnelFamilies(figures: funnelFigures, quantiles: FunnelFamilies.defaultQuantiles).write(to: &p)
        }
        CounterFamilies(totals: totals).write(to: &p)
        HealthFamilies(status: status, walBytes: walBytes(), version: configuration.version)
            .write(to: &p, series: windows.last(where: { $0.0 <= 3_600_000 })?.1 ?? WindowData())
        return p.output
    }
}

/// Opsight's own health families (SPEC §6), from the collector's live counters.
struct HealthFamilies {
    let status: CollectorStatus
    let walBytes: UInt64
    let version: String

    /// Names of the families written.
    static let names: Set<String> = [
        "opsight_ingest_events_total", "opsight_ingest_bytes_total", "opsight_wal_bytes", "opsight_store_errors_total",
        "opsight_flush_duration_seconds", "opsight_series", "opsight_series_limited_total", "opsight_build_info",
        "opsight_rule_evaluations_total", "opsight_rule_evaluation_failures_total", "opsight_alerts",
        "opsight_notifications_total", "opsight_quarantined_deltas_total", "opsight_quarantined_raw_events_total",
        "opsight_identity_folded_total",
    ]

    func write(to p: inout some SampleSink, series: WindowData) {
        p.family("opsight_ingest_events_total", type: "counter", help: "Events received by ingest, by outcome.")
        p.sample("opsight_ingest_events_total", ["outcome": "accepted"], Double(status.accepted.load(ordering: .relaxed)))
        p.sample("opsight_ingest_events_total", ["outcome": "rejected"], Double(status.rejected.load(ordering: .relaxed)))
        p.family("opsight_ingest_bytes_total", type: "counter", help: "Ingest body bytes after decompression.")
        p.sample("opsight_ingest_bytes_total", [:], Double(status.ingestBytes.load(ordering: .relaxed)))
        p.family("opsight_wal_bytes", type: "gauge", help: "Write-ahead log bytes not yet in both stores.")
        p.sample("opsight_wal_bytes", [:], Double(walBytes))
        p.family("opsight_store_errors_total", type: "counter", help: "Failed commits to a store.")
        p.sample("opsight_store_errors_total", ["store": "redis"], Double(status.hotErrors.load(ordering: .relaxed)))
        p.sample("opsight_store_errors_total", ["store": "postgres"], Double(status.durableErrors.load(ordering: .relaxed)))
        p.family(
            "opsight_quarantined_deltas_total", type: "counter",
            help: "Deltas a store refused for their data, set aside so the flush moved on.")
        p.sample("opsight_quarantined_deltas_total", [:], Double(status.quarantinedDeltas.load(ordering: .relaxed)))
        p.family(
            "opsight_quarantined_raw_events_total", type: "counter",
            help: "Raw events the drill-down store refused for their data, set aside.")
        p.sample(
            "opsight_quarantined_raw_events_total", [:], Double(status.quarantinedRawEvents.load(ordering: .relaxed)))
        p.family("opsight_flush_duration_seconds", type: "gauge", help: "Duration of the last flush to Redis.")
        p.sample("opsight_flush_duration_seconds", [:], Double(status.lastFlushNanos.load(ordering: .relaxed)) / 1e9)
        p.family("opsight_series", type: "gauge", help: "Series with data in the last hour, by kind.")
        p.sample("opsight_series", ["kind": "request"], Double(series.requests.count))
        p.sample("opsight_series", ["kind": "job"], Double(series.jobs.count))
        p.sample("opsight_series", ["kind": "log"], Double(series.logs.count))
        p.family("opsight_series_limited_total", type: "counter", help: "Request events folded into __other__.")
        p.sample("opsight_series_limited_total", [:], Double(status.seriesLimited.load(ordering: .relaxed)))
        p.family(
            "opsight_identity_folded_total", type: "counter",
            help: "Events whose service, queue or job was folded into __other__ by a cardinality guard.")
        let folded = [
            ("service", status.foldedServices.load(ordering: .relaxed)),
            ("queue", status.foldedQueues.load(ordering: .relaxed)), ("job", status.foldedJobs.load(ordering: .relaxed)),
        ]
        for (field, count) in folded { p.sample("opsight_identity_folded_total", ["field": field], Double(count)) }
        p.family("opsight_rule_evaluations_total", type: "counter", help: "Alerting and recording rule evaluations.")
        p.sample("opsight_rule_evaluations_total", [:], Double(status.ruleEvaluations.load(ordering: .relaxed)))
        p.family(
            "opsight_rule_evaluation_failures_total", type: "counter", help: "Rule evaluations that failed.")
        p.sample(
            "opsight_rule_evaluation_failures_total", [:], Double(status.ruleEvaluationFailures.load(ordering: .relaxed)))
        p.family("opsight_alerts", type: "gauge", help: "Alerts by state after the last evaluation.")
        p.sample("opsight_alerts", ["state": "firing"], Double(status.alertsFiring.load(ordering: .relaxed)))
        p.sample("opsight_alerts", ["state": "pending"], Double(status.alertsPending.load(ordering: .relaxed)))
        let notifications = status.notificationCounts.sorted { ($0.key.receiver, $0.key.outcome) < ($1.key.receiver, $1.key.outcome) }
        if !notifications.isEmpty {
            p.family("opsight_notifications_total", type: "counter", help: "Notification delivery attempts by outcome.")
            for (key, count) in notifications {
                p.sample("opsight_notifications_total", ["receiver": key.receiver, "outcome": key.outcome], Double(count))
            }
        }
        p.family("opsight_build_info", type: "gauge", help: "The running build.")
        p.sample("opsight_build_info", ["version": version], 1)
    }
}
