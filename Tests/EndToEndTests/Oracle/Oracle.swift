/// Exact expected figures of SPEC §5, computed from the corpus that was sent.
struct Oracle {
    /// A quantile as the API names it and as an exact fraction, so the rank ⌊q·(n−1)⌋ has no rounding error.
    struct Quantile {
        var key: String
        var numerator: Int
        var denominator: Int
    }

    static let quantiles = [
        Quantile(key: "0", numerator: 0, denominator: 1), Quantile(key: "0.5", numerator: 1, denominator: 2),
        Quantile(key: "0.95", numerator: 95, denominator: 100), Quantile(key: "0.99", numerator: 99, denominator: 100),
        Quantile(key: "1", numerator: 1, denominator: 1),
    ]
    /// The quantiles the services and routes endpoints report.
    static let summaryQuantiles = quantiles.filter { ["0.5", "0.95", "0.99"].contains($0.key) }

    /// Request figures of one series (or one service).
    struct RequestFigures {
        var count = 0
        var errors = 0
        var clientErrors = 0
        var latencies: [Double] = []

        var errorRatio: Double? { count == 0 ? nil : Double(errors) / Double(count) }
        func rate(windowMs: Int64) -> Double { Double(count) / (Double(windowMs) / 1000) }

        mutating func add(_ r: Corpus.Request) {
            count += 1
            if r.status >= 500 { errors += 1 }
            if (400...499).contains(r.status) { clientErrors += 1 }
            latencies.append(r.durationMs)
        }
    }

    /// Job figures of one (service, queue, job) series or one service.
    struct JobFigures {
        var succeeded = 0
        var failed = 0
        var durations: [Double] = []
        var waits: [Double] = []

        var failureRatio: Double? { succeeded + failed == 0 ? nil : Double(failed) / Double(succeeded + failed) }
    }

    struct RouteKey: Hashable, Comparable {
        var route: String
        var method: String
        static func < (a: RouteKey, b: RouteKey) -> Bool { (a.route, a.method) < (b.route, b.method) }
    }

    struct JobKey: Hashable {
        var service: String
        var queue: String
        var job: String
    }

    let corpus: Corpus
    /// Wait samples: (series, started time, wait ms), resolved as SPEC §3 says.
    let waits: [(key: JobKey, tsMs: Int64, waitMs: Double)]

    init(corpus: Corpus) {
        self.corpus = corpus
        var enqueues: [String: [Int64]] = [:]
        var waits: [(JobKey, Int64, Double)] = []
        for e in corpus.jobs where e.event == "enqueued" {
            enqueues[e.service + "\u{0}" + e.jobID, default: []].append(e.tsMs)
        }
        for e in corpus.jobs where e.event == "started" {
            // The latest enqueue of the same job id at or before the start (a retry is enqueued again).
            guard let enq = enqueues[e.service + "\u{0}" + e.jobID]?.filter({ $0 <= e.tsMs }).max() else { continue }
            waits.append((JobKey(service: e.service, queue: e.queue, job: e.job), e.tsMs, Double(e.tsMs - enq)))
        }
        self.waits = waits
    }

    /// Whether `ts` is in the window `(t − w, t]`.
    static func inWindow(_ ts: Int64, t: Int64, w: Int64) -> Bool { ts > t - w && ts <= t }

    /// Requests per service in the window.
    func services(t: Int64, w: Int64) -> [String: RequestFigures] {
        var out: [String: RequestFigures] = [:]
        for r in corpus.requests where Self.inWindow(r.tsMs, t: t, w: w) { out[r.service, default: .init()].add(r) }
        return out
    }

    /// Requests per route of `service` in the window.
    func routes(of service: String, t: Int64, w: Int64) -> [RouteKey: RequestFigures] {
        var out: [RouteKey: RequestFigures] = [:]
        for r in corpus.requests where r.service == service && Self.inWindow(r.tsMs, t: t, w: w) {
            out[RouteKey(route: r.route, method: r.method), default: .init()].add(r)
        }
        return out
    }

    /// Job figures per series in the window: counts and durations by finish time, waits by start time.
    func jobs(t: Int64, w: Int64) -> [JobKey: JobFigures] {
        var out: [JobKey: JobFigures] = [:]
        for e in corpus.jobs where Self.inWindow(e.tsMs, t: t, w: w) {
            let key = JobKey(service: e.service, queue: e.queue, job: e.job)
            switch e.event {
            case "succeeded": out[key, default: .init()].succeeded += 1
            case "failed": out[key, default: .init()].failed += 1
            default: continue
            }
            if let d = e.durationMs { out[key, default: .init()].durations.append(d) }
        }
        for s in waits where Self.inWindow(s.tsMs, t: t, w: w) { out[s.key, default: .init()].waits.append(s.waitMs) }
        return out
    }

    /// Job figures per service in the window.
    func jobsByService(t: Int64, w: Int64) -> [String: JobFigures] {
        var out: [String: JobFigures] = [:]
        for (k, v) in jobs(t: t, w: w) {
            out[k.service, default: .init()].succeeded += v.succeeded
            out[k.service, default: .init()].failed += v.failed
        }
        return out
    }

    /// The exact sample quantile: the value at 0-based rank ⌊q·(n−1)⌋; nil for no samples.
    static func exact(_ samples: [Double], _ q: Quantile) -> Double? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return sorted[q.numerator * (sorted.count - 1) / q.denominator]
    }
}
