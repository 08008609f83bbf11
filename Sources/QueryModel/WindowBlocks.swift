import Collector
import NIOCore
import OpsightMetrics
import PromQL

/// The sample lines of the nine windowed families for one window, one block of bytes per family: what
/// ``WindowFamilies`` writes for that window, rendered in one pass straight into bytes.
///
/// A window's blocks depend only on its series (and the quantiles), so ``ExpositionCache`` keeps them while the
/// window's version stays the same. The exposition is every family's HELP and TYPE followed by its block of each
/// window in ascending order.
struct WindowBlocks: Sendable {
    /// The windowed families in the exposition's order: name, type, help (as ``WindowFamilies`` writes them).
    static let families: [(name: String, type: String, help: String)] = [
        ("opsight_request_latency_seconds", "summary", "Request latency quantile over the window."),
        ("opsight_request_rate", "gauge", "Requests per second over the window."),
        ("opsight_request_error_ratio", "gauge", "Error responses / all responses over the window."),
        ("opsight_service_latency_seconds", "summary", "Latency quantile merged over routes."),
        ("opsight_service_request_rate", "gauge", "Requests per second of the service."),
        ("opsight_service_error_ratio", "gauge", "Error ratio of the service."),
        ("opsight_job_duration_seconds", "summary", "Job run time quantile over the window."),
        ("opsight_job_wait_seconds", "summary", "Job queue wait quantile over the window."),
        ("opsight_job_failure_ratio", "gauge", "failed / (succeeded + failed) over the window."),
    ]
    private static let names = families.map { Array($0.name.utf8) }

    /// One block per family of ``families``.
    let blocks: [ByteBuffer]

    /// Renders window `windowMs` holding `data`; `order` must cover its request series (``SeriesOrder/covers(_:)``).
    init(windowMs: Int64, data: WindowData, quantiles: [Double], order: SeriesOrder) {
        let window = PromDuration.format(windowMs)
        // `window` is digits and unit letters: nothing to escape.
        let windowEnd = Array(",window=\"\(window)\"}".utf8)
        let quantileEnds = quantiles.map {
            Array(",window=\"\(window)\",quantile=\"\(PrometheusText.format($0))\"}".utf8)
        }
        let names = Self.names
        var blocks = [ExpositionWriter](repeating: ExpositionWriter(), count: Self.families.count)

        // Request series: latency, rate and error ratio, and each service's sums, in one pass along the shared
        // order (the window's series looked up, not sorted). The series of a service are adjacent in label order
        // and services come in name order, so a service is complete when the next one starts.
        let estimate = data.requests.count * 160
        blocks[0] = ExpositionWriter(capacity: estimate * quantiles.count)
        blocks[1] = ExpositionWriter(capacity: estimate)
        blocks[2] = ExpositionWriter(capacity: estimate)
        let seconds = Double(PromDuration.milliseconds(window)!) / 1000
        var service = ServiceSums()
        func endService() {
            guard let name = service.name else { return }
            var writer = ExpositionWriter()
            writer.append(ascii: UInt8(ascii: "{"))
            writer.label("service", name)
            let prefix = writer.bytes[...]
            let latency = service.latency.sketch
            for (i, q) in quantiles.enumerated() {
                guard let v = latency.quantile(q) else { continue }
                blocks[3].sample(names[3], labels: prefix, quantileEnds[i], v / 1000)
            }
            // As ``RequestStats/errorRatio`` of the merged series.
            let (count, errors) = (service.count, service.errors)
            blocks[4].sample(names[4], labels: prefix, windowEnd, Double(count) / (Double(windowMs) / 1000))
            blocks[5].sample(names[5], labels: prefix, windowEnd, count == 0 ? .nan : Double(errors) / Double(count))
        }
        var found = 0
        for (rank, key) in order.keys.enumerated() {
            guard let s = data.requests[key] else { continue }
            found += 1
            let prefix = order.prefix(rank)
            for (i, q) in quantiles.enumerated() {
                guard let v = s.latency.quantile(q) else { continue }
                blocks[0].sample(names[0], labels: prefix, quantileEnds[i], v / 1000)
            }
            blocks[1].sample(names[1], labels: prefix, windowEnd, Double(s.count) / seconds)
            blocks[2].sample(names[2], labels: prefix, windowEnd, s.errorRatio ?? .nan)
            if service.name != key.service {
                endService()
                service = ServiceSums(name: key.service)
            }
            service.count &+= s.count
            service.errors &+= s.errors
            service.latency.add(s.latency)
        }
        endService()
        precondition(found == data.requests.count, "the series order does not cover the window")

        // Job series, in label order.
        let jobs = data.jobs.sorted {
            ($0.key.service, $0.key.queue, $0.key.job) < ($1.key.service, $1.key.queue, $1.key.job)
        }
        for (k, s) in jobs {
            var writer = ExpositionWriter()
            writer.append(ascii: UInt8(ascii: "{"))
            writer.labels(("service", k.service), ("queue", k.queue), ("job", k.job))
            let prefix = writer.bytes[...]
            let wait = s.queueWait
            for (i, q) in quantiles.enumerated() {
                guard let v = s.duration.quantile(q) else { continue }
                blocks[6].sample(names[6], labels: prefix, quantileEnds[i], v / 1000)
            }
            for (i, q) in quantiles.enumerated() {
                guard let v = wait.quantile(q) else { continue }
                blocks[7].sample(names[7], labels: prefix, quantileEnds[i], v / 1000)
            }
            blocks[8].sample(names[8], labels: prefix, windowEnd, s.failureRatio ?? .nan)
        }
        self.blocks = blocks.map(\.buffer)
    }
}

/// One service's request series summed so far (``WindowData/requestsByService(latency:)`` for one service).
private struct ServiceSums {
    var name: String? = nil
    var count: UInt64 = 0
    var errors: UInt64 = 0
    var latency = LogSketchAccumulator()
}

/// The `_total` counter families (``CounterFamilies``) from the stores' running totals, rendered straight into bytes.
enum CounterBlock {
    private static let requestsName = Array("opsight_requests_total".utf8)
    private static let classEnds = (1...5).map { Array(",code_class=\"\($0)xx\"}".utf8) }

    /// The three families' lines; `order` must cover `totals`' request series.
    static func render(_ totals: WindowData, order: SeriesOrder) -> ByteBuffer {
        var p = ExpositionWriter(capacity: totals.requests.count * 2 * 110 + 4096)
        p.family("opsight_requests_total", type: "counter", help: "Requests by status class.")
        for (rank, key) in order.keys.enumerated() {
            guard let s = totals.requests[key] else { continue }
            let prefix = order.prefix(rank)
            for c in 1...5 where s.count(ofClass: c) > 0 {
                p.sample(requestsName, labels: prefix, classEnds[c - 1], Double(s.count(ofClass: c)))
            }
        }
        p.family("opsight_jobs_total", type: "counter", help: "Job lifecycle events.")
        for (k, s) in totals.jobs.sorted(by: {
            ($0.key.service, $0.key.queue, $0.key.job) < ($1.key.service, $1.key.queue, $1.key.job)
        }) {
            for e in JobEventType.allCases where s.count(e) > 0 {
                p.append("opsight_jobs_total{")
                p.labels(("service", k.service), ("queue", k.queue), ("job", k.job))
                p.append(ascii: UInt8(ascii: ","))
                p.label("event", e.rawString)
                p.append(ascii: UInt8(ascii: "}"))
                p.endLine(Double(s.count(e)))
            }
        }
        p.family("opsight_log_lines_total", type: "counter", help: "Log lines by level.")
        for (service, s) in totals.logs.sorted(by: { $0.key < $1.key }) {
            for l in LogLevel.allCases where s.count(l) > 0 {
                p.append("opsight_log_lines_total{")
                p.label("service", service)
                p.append(ascii: UInt8(ascii: ","))
                p.label("level", l.rawString)
                p.append(ascii: UInt8(ascii: "}"))
                p.endLine(Double(s.count(l)))
            }
        }
        return p.buffer
    }
}
