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
    static let names = families.map { Array($0.name.utf8) }

    /// Each family's lines (``families``' order), in one or more pieces to send one after the other.
    let pieces: [[ByteBuffer]]

    /// Each family's lines as one block.
    var blocks: [ByteBuffer] {
        pieces.map { parts in
            var joined = ByteBuffer()
            for p in parts { joined.writeImmutableBuffer(p) }
            return joined
        }
    }

    /// Renders window `windowMs` holding `data`; nil when `order` does not cover its request series (found while
    /// rendering, so a scrape does not look every series up once more beforehand).
    init?(windowMs: Int64, data: WindowData, quantiles: [Double], order: SeriesOrder) {
        self.init(windowMs: windowMs, cold: data, tail: nil, coldServices: nil, quantiles: quantiles, order: order)
    }

    /// Renders window `windowMs` holding `cold` + `tail` (a long window's two cached parts,
    /// ``MetricsReader/LongParts``) without summing them: each series' counts are added and its quantiles walked
    /// over both sketches, and the services' sums start from `coldServices` (``ServiceSums/of(_:)`` of `cold`, kept
    /// while `cold` stays) and add the tail. The same bytes as rendering the sum; summing a day of 10 000 series into
    /// a copy, for every new version of the two newest minutes, was most of a scrape of `1d`.
    init?(
        windowMs: Int64, cold: WindowData, tail: WindowData?, coldServices: [String: ServiceSums]?,
        quantiles: [Double], order: SeriesOrder
    ) {
        let piece = Self.piece(
            windowMs: windowMs, cold: cold, tail: tail, coldServices: coldServices, quantiles: quantiles, order: order,
            ranks: 0..<order.keys.count, jobs: true)
        guard piece.foundCold == cold.requests.count, piece.foundTail == (tail?.requests.count ?? 0) else { return nil }
        pieces = piece.blocks.map { [$0] }
    }

    /// As ``init(windowMs:cold:tail:coldServices:quantiles:order:)``, the series order cut in `parts` at services'
    /// boundaries and the parts rendered side by side: a window of 10 000 series is ~20 ms of rendering on one
    /// core, and a scrape of one window (`/metrics?window=1d`) waits for it.
    static func render(
        windowMs: Int64, cold: WindowData, tail: WindowData?, coldServices: [String: ServiceSums]?,
        quantiles: [Double], order: SeriesOrder, parts: Int
    ) async -> WindowBlocks? {
        let keys = order.keys
        var cuts = [0]
        for p in 1..<max(parts, 1) {
            var cut = max(keys.count * p / parts, cuts.last!)
            while cut > 0, cut < keys.count, keys[cut].service == keys[cut - 1].service { cut += 1 }
            if cut < keys.count, cut > cuts.last! { cuts.append(cut) }
        }
        cuts.append(keys.count)
        let ranges = zip(cuts, cuts.dropFirst()).map { $0..<$1 }
        let rendered = await withTaskGroup(of: (Int, Piece).self) { group in
            for (i, ranks) in ranges.enumerated() {
                group.addTask {
                    let piece = Self.piece(
                        windowMs: windowMs, cold: cold, tail: tail, coldServices: coldServices, quantiles: quantiles,
                        order: order, ranks: ranks, jobs: i == ranges.count - 1)
                    return (i, piece)
                }
            }
            var out = [Piece?](repeating: nil, count: ranges.count)
            for await (i, piece) in group { out[i] = piece }
            return out.map { $0! }
        }
        guard rendered.reduce(0, { $0 + $1.foundCold }) == cold.requests.count,
            rendered.reduce(0, { $0 + $1.foundTail }) == (tail?.requests.count ?? 0)
        else { return nil }
        return WindowBlocks(pieces: families.indices.map { f in rendered.map { $0.blocks[f] } })
    }

    private init(pieces: [[ByteBuffer]]) {
        self.pieces = pieces
    }

    /// The lines of the series at `ranks` of `order` (and of the jobs when `jobs`), with how many series of each
    /// part were found there.
    private struct Piece: Sendable {
        var blocks: [ByteBuffer]
        var foundCold: Int
        var foundTail: Int
    }

    private static func piece(
        windowMs: Int64, cold: WindowData, tail: WindowData?, coldServices: [String: ServiceSums]?,
        quantiles: [Double], order: SeriesOrder, ranks: Range<Int>, jobs includeJobs: Bool
    ) -> Piece {
        let window = PromDuration.format(windowMs)
        // `window` is digits and unit letters: nothing to escape.
        let windowEnd = Array(",window=\"\(window)\"}".utf8)
        let quantileEnds = quantiles.map {
            Array(",window=\"\(window)\",quantile=\"\(PrometheusText.format($0))\"}".utf8)
        }
        // This piece's own copies of the names: the shared arrays' reference counts, taken at every line by the
        // pieces on each core at once, bounced between the cores.
        let names = Self.names.map { name in name.withUnsafeBufferPointer { Array($0) } }
        var blocks = [ExpositionWriter](repeating: ExpositionWriter(), count: Self.families.count)
        let keys = order.keys

        // Request series: latency, rate and error ratio, and each service's sums, in one pass along the shared
        // order (the window's series looked up, not sorted). The series of a service are adjacent in label order
        // and services come in name order, so a service is complete when the next one starts.
        let estimate = min(cold.requests.count + (tail?.requests.count ?? 0), ranks.count) * 160
        blocks[0] = ExpositionWriter(capacity: estimate * quantiles.count)
        blocks[1] = ExpositionWriter(capacity: estimate)
        blocks[2] = ExpositionWriter(capacity: estimate)
        let seconds = Double(PromDuration.milliseconds(window)!) / 1000
        let empty = LogSketch()
        // Plain locals, no nested function over them: a closure's captures would be boxed and every access to the
        // writers checked for exclusivity at run time.
        var service = ServiceSums()
        var serviceNumber: Int32 = -1
        var values: [Double] = []
        var (foundCold, foundTail) = (0, 0)
        for rank in ranks {
            let key = keys[rank]
            let c = cold.requests[key]
            let t = tail?.requests[key]
            guard c != nil || t != nil else { continue }
            if c != nil { foundCold += 1 }
            if t != nil { foundTail += 1 }
            let prefix = order.prefix(rank)
            LogSketch.quantiles(of: c?.latency ?? empty, and: t?.latency ?? empty, quantiles, into: &values)
            for i in values.indices where !values[i].isNaN {
                blocks[0].sample(names[0], labels: prefix, quantileEnds[i], values[i] / 1000)
            }
            // As ``RequestStats/errorRatio`` of the two parts merged.
            let count = (c?.count ?? 0) &+ (t?.count ?? 0)
            let errors = (c?.errors ?? 0) &+ (t?.errors ?? 0)
            blocks[1].sample(names[1], labels: prefix, windowEnd, Double(count) / seconds)
            blocks[2].sample(names[2], labels: prefix, windowEnd, count == 0 ? .nan : Double(errors) / Double(count))
            if order.service(rank) != serviceNumber {
                service.write(to: &blocks, quantiles: quantiles, quantileEnds, windowEnd, windowMs: windowMs)
                let name = key.service
                service = coldServices?[name] ?? ServiceSums()
                service.name = name
                serviceNumber = order.service(rank)
            }
            if coldServices == nil, let c { service.add(c) }
            if let t { service.add(t) }
        }
        service.write(to: &blocks, quantiles: quantiles, quantileEnds, windowEnd, windowMs: windowMs)

        // Job series (a few), in label order.
        var jobSeries = includeJobs ? cold.jobs : [:]
        for (k, v) in includeJobs ? tail?.jobs ?? [:] : [:] { jobSeries[k, default: JobStats()].merge(v) }
        let jobs = jobSeries.sorted {
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
        return Piece(blocks: blocks.map(\.buffer), foundCold: foundCold, foundTail: foundTail)
    }
}

/// One service's request series summed so far (``WindowData/requestsByService(latency:)`` for one service).
struct ServiceSums: Sendable {
    var name: String? = nil
    var count: UInt64 = 0
    var errors: UInt64 = 0
    var latency = LogSketchAccumulator()

    /// Adds one series.
    mutating func add(_ s: RequestStats) {
        count &+= s.count
        errors &+= s.errors
        latency.add(s.latency)
    }

    /// The sums of each service of `data`.
    static func of(_ data: WindowData) -> [String: ServiceSums] {
        var out: [String: ServiceSums] = [:]
        for (k, s) in data.requests { out[k.service, default: ServiceSums(name: k.service)].add(s) }
        return out
    }

    /// The service's three lines into `blocks` (``WindowBlocks/families`` 3…5); nothing before the first service.
    func write(
        to blocks: inout [ExpositionWriter], quantiles: [Double], _ quantileEnds: [[UInt8]], _ windowEnd: [UInt8],
        windowMs: Int64
    ) {
        guard let name else { return }
        var writer = ExpositionWriter()
        writer.append(ascii: UInt8(ascii: "{"))
        writer.label("service", name)
        let prefix = writer.bytes[...]
        let names = WindowBlocks.names
        let sketch = latency.sketch
        for (i, q) in quantiles.enumerated() {
            guard let v = sketch.quantile(q) else { continue }
            blocks[3].sample(names[3], labels: prefix, quantileEnds[i], v / 1000)
        }
        blocks[4].sample(names[4], labels: prefix, windowEnd, Double(count) / (Double(windowMs) / 1000))
        // As ``RequestStats/errorRatio`` of the merged series.
        blocks[5].sample(names[5], labels: prefix, windowEnd, count == 0 ? .nan : Double(errors) / Double(count))
    }
}

/// The `_total` counter families (``CounterFamilies``) from the stores' running totals, rendered straight into bytes.
enum CounterBlock {
    private static let requestsName = Array("opsight_requests_total".utf8)
    private static let classEnds = (1...5).map { Array(",code_class=\"\($0)xx\"}".utf8) }

    /// The three families' lines; nil when `order` does not cover `totals`' request series.
    static func render(_ totals: WindowData, order: SeriesOrder) -> ByteBuffer? {
        var p = ExpositionWriter(capacity: totals.requests.count * 2 * 110 + 4096)
        p.family("opsight_requests_total", type: "counter", help: "Requests by status class.")
        var found = 0
        for (rank, key) in order.keys.enumerated() {
            guard let s = totals.requests[key] else { continue }
            found += 1
            let prefix = order.prefix(rank)
            for c in 1...5 where s.count(ofClass: c) > 0 {
                p.sample(requestsName, labels: prefix, classEnds[c - 1], Double(s.count(ofClass: c)))
            }
        }
        guard found == totals.requests.count else { return nil }
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
