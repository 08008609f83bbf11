import Foundation

/// A seeded corpus of events for the oracle test, with each event's meaning kept beside the JSON line that
/// carries it, so the oracle is computed from what was sent, not from what the server answers.
struct Corpus {
    /// One request as the server should understand it (route already a template, method upper-case).
    struct Request {
        var service: String
        var route: String
        var method: String
        var status: Int
        var durationMs: Double
        var tsMs: Int64
    }

    /// One job lifecycle event.
    struct JobEvent {
        var service: String
        var queue: String
        var job: String
        var jobID: String
        var event: String
        var tsMs: Int64
        var durationMs: Double?
    }

    /// Request, log and funnel-event lines, in any order.
    var lines: [String] = []
    /// Job lines, sorted by event time: they must reach the server in time order across batches so every
    /// `started` finds the `enqueued` before it.
    var jobLines: [String] = []
    var requests: [Request] = []
    var jobs: [JobEvent] = []

    var eventCount: Int { lines.count + jobLines.count }
}

/// The services, routes and job types the corpus is drawn from.
enum Catalogue {
    enum IDStyle { case numeric, uuid, hex }

    struct Route {
        var template: String
        var method: String
        var weight: Double
        var serverErrorRate: Double
        var clientErrorRate: Double
        /// Scale of the latency's Pareto distribution, ms.
        var scaleMs: Double
        var ids: IDStyle = .numeric
    }

    static let services: [(name: String, weight: Double, routes: [Route])] = [
        (
            "assessment-api", 0.45,
            [
                Route(
                    template: "/api/v1/assessments/:id", method: "GET", weight: 5, serverErrorRate: 0.02,
                    clientErrorRate: 0.08, scaleMs: 8),
                Route(
                    template: "/api/v1/assessments/:id", method: "DELETE", weight: 0.4, serverErrorRate: 0.05,
                    clientErrorRate: 0.1, scaleMs: 15),
                Route(
                    template: "/api/v1/assessments", method: "POST", weight: 2, serverErrorRate: 0.06,
                    clientErrorRate: 0.05, scaleMs: 40),
                Route(
                    template: "/api/v1/assessments/:id/report", method: "GET", weight: 1.5, serverErrorRate: 0.03,
                    clientErrorRate: 0.02, scaleMs: 120, ids: .uuid),
                Route(
                    template: "/healthz", method: "GET", weight: 1, serverErrorRate: 0, clientErrorRate: 0,
                    scaleMs: 0.2),
            ]
        ),
        (
            "document-store", 0.3,
            [
                Route(
                    template: "/api/v1/documents/:id", method: "PUT", weight: 2, serverErrorRate: 0.04,
                    clientErrorRate: 0.03, scaleMs: 90, ids: .hex),
                Route(
                    template: "/api/v1/documents/:id", method: "GET", weight: 4, serverErrorRate: 0.01,
                    clientErrorRate: 0.06, scaleMs: 12, ids: .hex),
                Route(
                    template: "/api/v1/documents/:id/pages/:id", method: "GET", weight: 1, serverErrorRate: 0.1,
                    clientErrorRate: 0.02, scaleMs: 30, ids: .numeric),
            ]
        ),
        (
            "gateway", 0.25,
            [
                Route(
                    template: "/", method: "GET", weight: 2, serverErrorRate: 0.01, clientErrorRate: 0.01,
                    scaleMs: 2),
                Route(
                    template: "/api/v1/login", method: "POST", weight: 1, serverErrorRate: 0.02,
                    clientErrorRate: 0.25, scaleMs: 60),
                Route(
                    template: "/api/v1/search", method: "GET", weight: 2, serverErrorRate: 0.08,
                    clientErrorRate: 0.04, scaleMs: 25),
            ]
        ),
    ]

    /// Job series: (service, queue, job type, weight). `report-worker` has a single series, so its services entry
    /// shows that (service, queue, job)'s failure ratio; `assessment-worker` sums two.
    static let worker = "assessment-worker"
    static let jobTypes: [(service: String, queue: String, job: String, weight: Double)] = [
        (worker, "assessments", "assess", 0.55), (worker, "reports", "render", 0.2),
        ("report-worker", "pdf", "render-pdf", 0.25),
    ]
}

extension Corpus {
    /// Generates the corpus around the evaluation times of the test.
    ///
    /// - `t`: the past time (10 s grid) of the hot windows; recent events lie in `(t − 19m, t + 7m50s]`, so the
    ///   1m, 5m and 15m windows at `t` cut through the data at both ends and 1h at its newer end.
    /// - `t6`: the past time (minute grid) of the 6h window; a second group of events around `t6 − 6h` makes
    ///   that window cut through the data at its older end too.
    /// Events are also placed exactly on window edges: on `t` (inside) and on `t − W` (outside).
    static func generate(seed: UInt64, t: Int64, t6: Int64, requests requestCount: Int = 4_600, jobCount: Int = 420)
        -> Corpus
    {
        var rng = SeededGenerator(seed: seed)
        var c = Corpus()
        let recent = (t - 19 * 60_000)...(t + 470_000)
        let old = (t6 - 6 * 3_600_000 - 20 * 60_000)...(t6 - 6 * 3_600_000 + 20 * 60_000)
        for _ in 0..<requestCount {
            c.addRequest(at: Int64.random(in: recent, using: &rng), rng: &rng)
        }
        for _ in 0..<180 {
            c.addRequest(at: Int64.random(in: old, using: &rng), rng: &rng)
        }
        let edges: [Int64] = [
            t, t - 1, t + 1, t - 60_000, t - 60_000 + 1, t - 300_000, t - 300_000 + 1, t - 900_000, t - 900_000 + 1,
            t - 3_600_000, t - 3_600_000 + 1, t6, t6 + 1, t6 - 21_600_000, t6 - 21_600_000 + 1,
        ]
        for edge in edges {
            for _ in 0..<3 { c.addRequest(at: edge, rng: &rng) }
        }
        for i in 0..<jobCount {
            c.addJobLifecycle(
                id: "job-\(seed % 10_000)-\(i)", start: Int64.random(in: recent, using: &rng), until: recent.upperBound,
                rng: &rng)
        }
        // Queue waits and durations exactly on the edges of t.
        c.addJobLifecycle(
            id: "job-edge-1", start: t - 2_000, until: recent.upperBound, rng: &rng, wait: 2_000, duration: 0)
        c.addJobLifecycle(
            id: "job-edge-2", start: t - 60_000 - 5_000, until: recent.upperBound, rng: &rng, wait: 5_000,
            duration: 60_000)
        // Stable by emission order, so an enqueue and a start at the same millisecond stay in that order.
        c.jobs = c.jobs.enumerated().sorted { ($0.element.tsMs, $0.offset) < ($1.element.tsMs, $1.offset) }.map(
            \.element)
        c.jobLines = c.jobs.map { Self.render(job: $0, rng: &rng) }
        for i in 0..<300 { c.addLog(at: Int64.random(in: recent, using: &rng), index: i, rng: &rng) }
        for i in 0..<100 {
            let ts = Int64.random(in: recent, using: &rng)
            c.lines.append(
                #"{"ts":\#(ts),"service":"assessment-api","event":"document_uploaded","entity":"user-\#(i % 37)"}"#)
        }
        return c
    }

    private mutating func addRequest(at ts: Int64, rng: inout SeededGenerator) {
        let service = rng.weighted(Catalogue.services.map { ($0, $0.weight) })
        let route = rng.weighted(service.routes.map { ($0, $0.weight) })
        let u = rng.unit()
        let statuses: [Int]
        if u < route.serverErrorRate {
            statuses = [500, 502, 503, 504]
        } else if u < route.serverErrorRate + route.clientErrorRate {
            statuses = [400, 401, 404, 409, 429]
        } else {
            statuses = [200, 200, 200, 200, 201, 204, 301, 304]
        }
        let status = statuses[Int(rng.next() % UInt64(statuses.count))]
        let duration = Self.heavyTailed(scale: route.scaleMs, alpha: 1.3, zeroShare: 0.04, rng: &rng)
        requests.append(
            .init(
                service: service.name, route: route.template, method: route.method, status: status,
                durationMs: duration, tsMs: ts))
        lines.append(Self.render(request: requests.last!, ids: route.ids, rng: &rng))
    }

    private mutating func addJobLifecycle(
        id: String, start: Int64, until limit: Int64, rng: inout SeededGenerator, wait fixedWait: Int64? = nil,
        duration fixedDuration: Double? = nil
    ) {
        let type = rng.weighted(Catalogue.jobTypes.map { ($0, $0.weight) })
        var enqueuedAt = start
        for attempt in 1...3 {
            func emit(_ event: String, _ ts: Int64, _ duration: Double? = nil) -> Bool {
                guard ts <= limit else { return false }
                jobs.append(
                    .init(
                        service: type.service, queue: type.queue, job: type.job, jobID: id, event: event, tsMs: ts,
                        durationMs: duration))
                return true
            }
            guard emit("enqueued", enqueuedAt) else { return }
            let wait =
                fixedWait
                ?? (rng.chance(0.1)
                    ? 0 : Int64(Self.heavyTailed(scale: 40, alpha: 1.2, zeroShare: 0, rng: &rng).rounded()))
            let startedAt = enqueuedAt + wait
            guard emit("started", startedAt) else { return }
            let duration = fixedDuration ?? Self.heavyTailed(scale: 150, alpha: 1.5, zeroShare: 0.03, rng: &rng)
            let finishedAt = startedAt + Int64(duration.rounded(.up))
            let failed = fixedDuration == nil && rng.chance(0.22)
            guard emit(failed ? "failed" : "succeeded", finishedAt, duration) else { return }
            guard failed, attempt < 3, rng.chance(0.7) else { return }
            guard emit("retried", finishedAt) else { return }
            enqueuedAt = finishedAt + 1_000 * Int64(attempt)
        }
    }

    private mutating func addLog(at ts: Int64, index: Int, rng: inout SeededGenerator) {
        let service = ["assessment-api", "document-store", "gateway", Catalogue.worker][index % 4]
        let level = rng.weighted([("debug", 1.0), ("info", 6), ("warn", 2), ("error", 1), ("fatal", 0.1)])
        if rng.chance(0.5) {
            lines.append(#"{"ts":\#(ts),"service":"\#(service)","level":"\#(level)","msg":"line \#(index)"}"#)
        } else {
            lines.append(
                #"{"@timestamp":"\#(TimeText.rfc3339(ms: ts))","service":"\#(service)","severity":"\#(level)","message":"line \#(index)","user":{"id":\#(index)}}"#
            )
        }
    }

    /// Pareto(scale, alpha) capped at 2 minutes, rounded to microseconds, with a share of exact zeros.
    static func heavyTailed(scale: Double, alpha: Double, zeroShare: Double, rng: inout SeededGenerator) -> Double {
        if rng.chance(zeroShare) { return 0 }
        let u = max(rng.unit(), 1e-12)
        let x = min(scale * pow(u, -1 / alpha), 120_000)
        return (x * 1000).rounded() / 1000
    }

    /// The request as one of the many JSON forms SPEC §3 accepts.
    static func render(request r: Request, ids: Catalogue.IDStyle, rng: inout SeededGenerator) -> String {
        var fields: [String] = []
        fields.append(tsField(r.tsMs, rng: &rng))
        fields.append(#""service":"\#(r.service)""#)
        if rng.chance(0.25) { fields.append(#""kind":"request""#) }
        let hasID = r.route.contains(":id")
        if hasID ? rng.chance(0.75) : rng.chance(0.3) {
            // A concrete path that must normalise back to the template.
            var path = r.route
            while let range = path.range(of: ":id") { path.replaceSubrange(range, with: concreteID(ids, rng: &rng)) }
            if rng.chance(0.3) { path += "?page=\(rng.next() % 9)&full=1" }
            fields.append(#""path":"\#(path)""#)
        } else {
            fields.append(#""route":"\#(r.route)""#)
        }
        fields.append(#""method":"\#(r.method)""#)
        let statusName = rng.weighted([("status", 6.0), ("status_code", 1), ("http_status", 1)])
        fields.append(#""\#(statusName)":\#(r.status)"#)
        let micros = Int64((r.durationMs * 1000).rounded())
        switch rng.next() % 6 {
        case 0: fields.append(#""latency_ms":\#(r.durationMs)"#)
        case 1: fields.append(#""elapsed_ms":\#(r.durationMs)"#)
        case 2: fields.append(#""duration_s":\#(micros / 1_000_000).\#(TimeText.pad(micros % 1_000_000, 6))"#)
        case 3: fields.append(#""duration":"\#(micros / 1000).\#(TimeText.pad(micros % 1000, 3))ms""#)
        default: fields.append(#""duration_ms":\#(r.durationMs)"#)
        }
        if rng.chance(0.2) { fields.append(#""user_agent":"e2e/1.0","extra":{"a":[1,2,{"b":null}]}"#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func render(job j: JobEvent, rng: inout SeededGenerator) -> String {
        var fields = [tsField(j.tsMs, rng: &rng), #""service":"\#(j.service)""#]
        if rng.chance(0.4) { fields.append(#""kind":"job""#) }
        fields += [
            #""queue":"\#(j.queue)""#, #""job":"\#(j.job)""#, #""job_id":"\#(j.jobID)""#, #""event":"\#(j.event)""#,
        ]
        if let d = j.durationMs { fields.append(#""duration_ms":\#(d)"#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// `ts` (or an alias) as epoch ms, epoch seconds, or RFC 3339 in UTC or at an offset.
    static func tsField(_ ms: Int64, rng: inout SeededGenerator) -> String {
        let name = rng.weighted([("ts", 6.0), ("timestamp", 1), ("time", 1), ("@timestamp", 1)])
        let value: String
        switch rng.next() % 5 {
        case 0: value = "\(ms)"
        case 1: value = TimeText.epochSecondsLiteral(ms: ms)
        case 2: value = #""\#(TimeText.rfc3339(ms: ms))""#
        case 3: value = #""\#(TimeText.rfc3339(ms: ms, offsetMinutes: rng.chance(0.5) ? 120 : -330))""#
        default: value = ms % 1000 == 0 ? "\(ms / 1000)" : "\(ms)"
        }
        return #""\#(name)":\#(value)"#
    }

    static func concreteID(_ style: Catalogue.IDStyle, rng: inout SeededGenerator) -> String {
        let hex = Array("0123456789abcdef")
        func hexString(_ n: Int) -> String { String((0..<n).map { _ in hex[Int(rng.next() % 16)] }) }
        switch style {
        case .numeric: return "\(rng.next() % 1_000_000)"
        case .uuid: return "\(hexString(8))-\(hexString(4))-4\(hexString(3))-a\(hexString(3))-\(hexString(12))"
        case .hex: return hexString(16 + Int(rng.next() % 9))
        }
    }
}
