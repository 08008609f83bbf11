import Collector
import PromQL

/// The series of SPEC §6 as the PromQL engine sees them: every family, evaluated at any time in retention.
///
/// Equality matchers on `__name__`, `window`, `service` and `quantile` narrow what is read: only the windows
/// asked for are read, and a `quantile` other than the defaults is computed on demand (any q works). The
/// counters and health families are current values, so they exist only at evaluation times within a minute
/// of now.
public struct FamilySampleSource: SampleSource {
    /// What the source serves.
    public struct Configuration: Sendable {
        public var windowsMs: [Int64]
        public var quantiles: [Double]
        public var version: String
        /// Creates the configuration.
        public init(windowsMs: [Int64], quantiles: [Double] = [0.5, 0.95, 0.99], version: String) {
            self.windowsMs = windowsMs
            self.quantiles = quantiles
            self.version = version
        }
    }

    private let configuration: Configuration
    private let reader: MetricsReader
    private let hot: any MetricsStore
    private let status: CollectorStatus
    private let walBytes: @Sendable () -> UInt64
    private let now: @Sendable () -> Int64
    private let funnels: FunnelReader?

    /// Creates the source.
    public init(
        configuration: Configuration, reader: MetricsReader, hot: any MetricsStore, status: CollectorStatus,
        walBytes: @escaping @Sendable () -> UInt64, funnels: FunnelReader? = nil,
        now: @escaping @Sendable () -> Int64
    ) {
        self.configuration = configuration
        self.funnels = funnels
        self.reader = reader
        self.hot = hot
        self.status = status
        self.walBytes = walBytes
        self.now = now
    }

    /// Names of the windowed families.
    static let windowedNames: Set<String> = [
        "opsight_request_latency_seconds", "opsight_request_rate", "opsight_request_error_ratio",
        "opsight_service_latency_seconds", "opsight_service_request_rate", "opsight_service_error_ratio",
        "opsight_job_duration_seconds", "opsight_job_wait_seconds", "opsight_job_failure_ratio",
    ]
    static let counterNames: Set<String> = ["opsight_requests_total", "opsight_jobs_total", "opsight_log_lines_total"]

    public func select(_ matchers: [LabelMatcher], at time: Int64) async throws -> [Sample] {
        func equal(_ name: String) -> String? { matchers.first { $0.name == name && $0.op == .equal }?.value }
        let name = equal(Labels.metricName)
        // An evaluation at the request's current time is "now": windows include everything committed so far.
        let nowMs = EvaluationTime.current ?? now()
        var list = SampleList()
        // An equality matcher on `window` or `quantile` narrows what is computed (any q works); a window that is
        // no duration selects nothing (no series without a window label could match it either).
        var windows = configuration.windowsMs
        if let w = equal("window") {
            guard let ms = PromDuration.milliseconds(w), ms > 0 else { return [] }
            windows = [ms]
        }
        let quantile = equal("quantile").flatMap(Double.init).flatMap { (0...1).contains($0) ? [$0] : nil }
        if name.map(Self.windowedNames.contains) ?? true {
            let quantiles = quantile ?? configuration.quantiles
            var data: [(Int64, WindowData)] = []
            for w in windows {
                do {
                    data.append(
                        (
                            w,
                            try await reader.window(service: equal("service"), windowMs: w, timeMs: time, nowMs: nowMs)
                                .data
                        ))
                } catch let error as CollectorError where error.code == .invalid {
                    continue  // a window off the grid has no series
                }
            }
            WindowFamilies(windows: data, quantiles: quantiles, only: name).write(to: &list)
        }
        if let funnels, !funnels.funnels.isEmpty, name.map(FunnelFamilies.names.contains) ?? true {
            let quantiles = quantile ?? FunnelFamilies.defaultQuantiles
            let figures = try await funnels.allFigures(
                windowsMs: windows, timeMs: time, nowMs: nowMs, name: equal("funnel"))
            FunnelFamilies(figures: figures, quantiles: quantiles, only: name).write(to: &list)
        }
        if abs(time - nowMs) <= 60_000 {
            if name.map(Self.counterNames.contains) ?? true {
                CounterFamilies(totals: try await hot.totals()).write(to: &list)
            }
            if name.map(HealthFamilies.names.contains) ?? true {
                // `opsight_series` counts the series of the last hour, as `/metrics` does (its largest window up
                // to 1 h); without it the query API answered 0 where a Prometheus scraping /metrics had the counts.
                var series = WindowData()
                if name == nil || name == "opsight_series",
                    let w = configuration.windowsMs.filter({ $0 <= 3_600_000 }).max()
                {
                    series =
                        (try? await reader.window(service: nil, windowMs: w, timeMs: time, nowMs: nowMs).data)
                        ?? WindowData()
                }
                HealthFamilies(status: status, walBytes: walBytes(), version: configuration.version)
                    .write(to: &list, series: series)
            }
        }
        return list.samples.compactMap { s in
            let labels = Labels(s.labels + [(Labels.metricName, s.name)])
            return matchers.allSatisfy { $0.matches(labels) } ? Sample(labels: labels, value: s.value) : nil
        }
    }
}

/// The time of a query evaluated at "now" (no `time` parameter), carried to the sample source so that the
/// evaluation time equals its notion of now and windows are read at the current time rather than rounded down
/// to the 10 s grid.
public enum EvaluationTime {
    /// The request's current time, unix milliseconds, while a query without `time` is evaluated.
    @TaskLocal public static var current: Int64?
}
