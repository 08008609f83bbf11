import Collector
import OpsightMetrics
import PromQL

/// The windowed families of SPEC §6, one sample per series, window (and quantile).
///
/// The latency families are typed `summary` (quantile samples only, no `_sum`/`_count`): the text format
/// reserves the `quantile` label to summaries, and `promtool check metrics` rejects it on a gauge.
struct WindowFamilies {
    let windows: [(Int64, WindowData)]
    let quantiles: [Double]
    /// The one family to write (nil: all): a query names one, and building every other family's samples for
    /// 10 000 series only to drop them would cost more than the query itself.
    var only: String? = nil
    /// Whether series are written in label order (the exposition); a PromQL selection is sorted by the evaluator in
    /// its own order, so sorting 10 000 series here first would be wasted.
    var ordered = true

    func write(to p: inout some SampleSink) {
        // Each window's series in label order, sorted once for the three per-series families rather than per family
        // (10 000 series a window: the sort is a good part of a scrape).
        let perSeries = ["opsight_request_latency_seconds", "opsight_request_rate", "opsight_request_error_ratio"]
        let sorted: [(String, [(key: RequestKey, value: RequestStats)])] =
            perSeries.contains(where: wants)
            ? windows.map { w, d in
                (PromDuration.format(w), ordered ? d.requests.sorted(by: { Self.order($0.key, $1.key) }) : Array(d.requests))
            } : []
        if wants("opsight_request_latency_seconds") {
            p.family(
                "opsight_request_latency_seconds", type: "summary", help: "Request latency quantile over the window.")
            for (w, series) in sorted {
                for (k, s) in series {
                    quantileSamples(&p, "opsight_request_latency_seconds", Self.labels(k) + [("window", w)], s.latency)
                }
            }
        }
        if wants("opsight_request_rate") {
            p.family("opsight_request_rate", type: "gauge", help: "Requests per second over the window.")
            for (w, series) in sorted {
                let seconds = Double(PromDuration.milliseconds(w)!) / 1000
                for (k, s) in series {
                    p.sample(
                        "opsight_request_rate", labels: Self.labels(k) + [("window", w)], Double(s.count) / seconds)
                }
            }
        }
        if wants("opsight_request_error_ratio") {
            p.family(
                "opsight_request_error_ratio", type: "gauge", help: "Error responses / all responses over the window.")
            for (w, series) in sorted {
                for (k, s) in series {
                    p.sample(
                        "opsight_request_error_ratio", labels: Self.labels(k) + [("window", w)], s.errorRatio ?? .nan)
                }
            }
        }
        var byService: [(Int64, [(String, RequestStats)])] = []
        if only.map({ $0.hasPrefix("opsight_service_") }) ?? true {
            let latency = wants("opsight_service_latency_seconds")
            byService = windows.map { w, d in (w, Self.services(d, latency: latency)) }
        }
        if wants("opsight_service_latency_seconds") {
            p.family("opsight_service_latency_seconds", type: "summary", help: "Latency quantile merged over routes.")
            for (w, services) in byService {
                let window = PromDuration.format(w)
                for (name, s) in services {
                    quantileSamples(
                        &p, "opsight_service_latency_seconds", [("service", name), ("window", window)], s.latency)
                }
            }
        }
        if wants("opsight_service_request_rate") {
            p.family("opsight_service_request_rate", type: "gauge", help: "Requests per second of the service.")
            for (w, services) in byService {
                for (name, s) in services {
                    p.sample(
                        "opsight_service_request_rate",
                        labels: [("service", name), ("window", PromDuration.format(w))],
                        Double(s.count) / (Double(w) / 1000))
                }
            }
        }
        if wants("opsight_service_error_ratio") {
            p.family("opsight_service_error_ratio", type: "gauge", help: "Error ratio of the service.")
            for (w, services) in byService {
                for (name, s) in services {
                    p.sample(
                        "opsight_service_error_ratio", labels: [("service", name), ("window", PromDuration.format(w))],
                        s.errorRatio ?? .nan)
                }
            }
        }
        if wants("opsight_job_duration_seconds") {
            p.family("opsight_job_duration_seconds", type: "summary", help: "Job run time quantile over the window.")
            eachJob { labels, s in quantileSamples(&p, "opsight_job_duration_seconds", labels, s.duration) }
        }
        if wants("opsight_job_wait_seconds") {
            p.family("opsight_job_wait_seconds", type: "summary", help: "Job queue wait quantile over the window.")
            eachJob { labels, s in quantileSamples(&p, "opsight_job_wait_seconds", labels, s.queueWait) }
        }
        if wants("opsight_job_failure_ratio") {
            p.family("opsight_job_failure_ratio", type: "gauge", help: "failed / (succeeded + failed) over the window.")
            eachJob { labels, s in p.sample("opsight_job_failure_ratio", labels: labels, s.failureRatio ?? .nan) }
        }
    }

    private func wants(_ name: String) -> Bool { only.map { $0 == name } ?? true }

    private func eachJob(_ body: ([(String, String)], JobStats) -> Void) {
        for (w, d) in windows {
            for (k, s) in d.jobs.sorted(by: {
                ($0.key.service, $0.key.queue, $0.key.job) < ($1.key.service, $1.key.queue, $1.key.job)
            }) {
                body(
                    [("service", k.service), ("queue", k.queue), ("job", k.job), ("window", PromDuration.format(w))], s)
            }
        }
    }

    private func quantileSamples(
        _ p: inout some SampleSink, _ name: String, _ labels: [(String, String)], _ sketch: LogSketch
    ) {
        for q in quantiles {
            guard let v = sketch.quantile(q) else { continue }
            p.sample(name, labels: labels + [("quantile", PrometheusText.format(q))], v / 1000)
        }
    }

    static func labels(_ k: RequestKey) -> [(String, String)] {
        [("service", k.service), ("route", k.route), ("method", k.method)]
    }

    /// Label order of request series: service, then route, then method.
    static func order(_ a: RequestKey, _ b: RequestKey) -> Bool {
        order(a.labels, b.labels)
    }

    /// ``order(_:_:)`` of the series' labels.
    @inline(__always)
    static func order(_ a: SeriesLabels.Labels, _ b: SeriesLabels.Labels) -> Bool {
        (a.first, a.second, a.third) < (b.first, b.second, b.third)
    }

    /// `keys` in label order, each key's labels read from the table once rather than at every comparison (a read
    /// copies three strings: sorting 10 000 series with the labels read per comparison took ~100 ms, most of it
    /// reference counting).
    static func sorted(_ keys: some Collection<RequestKey>) -> [RequestKey] {
        var labelled = keys.map { ($0, $0.labels) }
        labelled.sort { order($0.1, $1.1) }
        return labelled.map(\.0)
    }

    static func services(_ d: WindowData, latency: Bool = true) -> [(String, RequestStats)] {
        d.requestsByService(latency: latency).sorted { $0.key < $1.key }
    }
}

/// The `_total` counter families from the stores' running totals.
struct CounterFamilies {
    let totals: WindowData
    /// The one family to write (nil: all).
    var only: String? = nil
    /// Whether series are written in label order (see ``WindowFamilies/ordered``).
    var ordered = true

    func write(to p: inout some SampleSink) {
        if only == nil || only == "opsight_requests_total" { requests(to: &p) }
        if only == nil || only == "opsight_jobs_total" { jobs(to: &p) }
        if only == nil || only == "opsight_log_lines_total" { logs(to: &p) }
    }

    private func requests(to p: inout some SampleSink) {
        p.family("opsight_requests_total", type: "counter", help: "Requests by status class.")
        let series = ordered ? totals.requests.sorted(by: { WindowFamilies.order($0.key, $1.key) }) : Array(totals.requests)
        for (k, s) in series {
            for c in 1...5 where s.count(ofClass: c) > 0 {
                p.sample(
                    "opsight_requests_total", labels: WindowFamilies.labels(k) + [("code_class", "\(c)xx")],
                    Double(s.count(ofClass: c)))
            }
        }
    }

    private func jobs(to p: inout some SampleSink) {
        p.family("opsight_jobs_total", type: "counter", help: "Job lifecycle events.")
        for (k, s) in totals.jobs.sorted(by: {
            ($0.key.service, $0.key.queue, $0.key.job) < ($1.key.service, $1.key.queue, $1.key.job)
        }) {
            for e in JobEventType.allCases where s.count(e) > 0 {
                p.sample(
                    "opsight_jobs_total",
                    labels: [("service", k.service), ("queue", k.queue), ("job", k.job), ("event", e.rawString)],
                    Double(s.count(e)))
            }
        }
    }

    private func logs(to p: inout some SampleSink) {
        p.family("opsight_log_lines_total", type: "counter", help: "Log lines by level.")
        for (service, s) in totals.logs.sorted(by: { $0.key < $1.key }) {
            for l in LogLevel.allCases where s.count(l) > 0 {
                p.sample(
                    "opsight_log_lines_total", labels: [("service", service), ("level", l.rawString)],
                    Double(s.count(l)))
            }
        }
    }
}
