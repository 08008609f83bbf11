import Foundation
import Testing

/// Issue 13 / SPEC §13: every panel query of every shipped dashboard, with its variables set to real values,
/// evaluates against the real binary loaded with known events and returns at least one series; then the same
/// queries run through `promtool query instant` against Opsight and against a real `prometheus` (Debian) that
/// scraped it at least twice, at the time of its latest scrape, and agree where they must.
@Suite(
    .serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason),
    .enabled(if: Promtool.available, "no promtool at \(Promtool.path): `scripts/stores.sh deps` installs prometheus"),
    .enabled(
        if: PrometheusProcess.available,
        "no prometheus at \(PrometheusProcess.binaryPath): `scripts/stores.sh deps` installs the Debian package")
)
struct DashboardsQueryTests {
    /// The window the agreement is checked at: it holds every event of the corpus.
    static let window = "1h"

    /// Families whose value moves by itself between a scrape and a later query (per-process health that
    /// changes on every flush or evaluation): both sources must answer, but not necessarily the same number.
    static let volatileFamilies = [
        "opsight_wal_bytes", "opsight_flush_duration_seconds", "opsight_rule_evaluations_total", "opsight_alerts",
        "opsight_notifications_total",
    ]

    /// One panel query with its variables substituted.
    struct Query {
        var dashboard: String
        var panel: String
        var refId: String
        var template: String
        var expr: String
        var legendFormat: String
        var what: String { "\(dashboard) / \(panel) / \(refId): \(expr)" }
        var volatile: Bool { DashboardsQueryTests.volatileFamilies.contains { template.contains($0) } }
    }

    static let rules = """
        groups:
          - name: dashboards
            interval: 1s
            rules:
              - alert: DashboardErrors
                expr: opsight_service_error_ratio{window="1h"} > 0.1
                labels: {severity: warning}

        """

    @Test func everyPanelQueryAnswersInOpsightAndAgreesWithPrometheus() async throws {
        let dashboards = try DashboardFile.loadAll()
        try #require(!dashboards.isEmpty, "no dashboards under \(DashboardFile.folder.path)")
        let sink = WebhookSink()
        try await sink.serve { base in
            try await withOpsightServer(
                "dashboards",
                configure: { server in
                    let rulesDir = server.directory.appendingPathComponent("rules")
                    try FileManager.default.createDirectory(at: rulesDir, withIntermediateDirectories: true)
                    try Data(Self.rules.utf8).write(to: rulesDir.appendingPathComponent("dashboards.yml"))
                    server.extraConfig =
                        DashboardCorpus.funnelConfig + """
                            alerting:
                              rule_files: [rules/*.yml]
                              evaluation_interval: 1s
                              route: {receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
                              receivers:
                                - {name: hook, webhook: {url: "\(base)/hook"}}

                            """
                }
            ) { server, card in
                let corpus = DashboardCorpus(seed: 0x1305_0001, nowMs: E2EEnvironment.nowMs)
                let r = try await server.client.ingest(corpus.body, gzip: true)
                card.equal(r.status, 200, "ingest status (\(r.text.prefix(300)))")
                let answer = try r.decode(IngestAnswer.self)
                card.equal(answer.accepted, corpus.lines.count, "ingest accepted (errors: \(answer.errors.prefix(3)))")

                // The alert fires and its notification is delivered, so opsight_notifications_total exists.
                try await eventually("a notification was delivered", timeout: .seconds(30)) {
                    let v = try await server.promQuery("opsight_notifications_total")
                    return (!v.result.isEmpty && !sink.requests.isEmpty, "\(v.result.count) series")
                }

                // Variables from the server's own label values, then every query at every window answers, and
                // at the test window returns at least one series (bounded wait: flushes reach Redis quickly).
                var queries: [Query] = []
                for d in dashboards {
                    let values = try await Self.resolveVariables(d, server: server, card)
                    queries += Self.queries(d, values)
                    let windows = d.variables.first { $0.name == "window" }?.query.split(separator: ",").map(
                        String.init)
                    for w in windows ?? [] where w != Self.window {
                        for q in Self.queries(d, values.merging(["window": w]) { $1 }) {
                            do { _ = try await server.promQuery(q.expr) } catch {
                                card.fail("window \(w): \(q.what) failed: \(error)")
                            }
                        }
                    }
                }
                var empty: [String] = []
                try await eventually("every panel query returns a series", timeout: .seconds(30)) {
                    empty = []
                    for q in queries {
                        if try await server.promQuery(q.expr).result.isEmpty { empty.append(q.what) }
                    }
                    return (empty.isEmpty, "empty: \(empty)")
                }
                for q in queries {
                    let v = try await server.promQuery(q.expr)
                    card.check(!v.result.isEmpty, "\(q.what): no series")
                    for item in v.result {
                        for label in DashboardFile.legendLabels(q.legendFormat) where item.metric[label] == nil {
                            card.fail("\(q.what): legend {{\(label)}} is not a label of \(item.metric)")
                        }
                    }
                }
                card.check(queries.count >= 50, "compared \(queries.count) panel queries")
                try await Self.checkFigures(queries, corpus, server, card)

                let prometheus = try PrometheusProcess(in: server.directory)
                do {
                    try await prometheus.start(
                        scraping: "127.0.0.1:\(server.port)", bearer: server.readToken, honorLabels: true)
                    try await Self.compare(queries, dashboards, prometheus, server, card)
                } catch {
                    await prometheus.stop()
                    print("e2e[dashboards] prometheus log:\n\(prometheus.logTail())")
                    throw error
                }
                let outcome = await prometheus.stop()
                card.equal(outcome, .exited(0), "prometheus exits 0 within 5 s of SIGTERM")
                if card.failures > 0 { print("e2e[dashboards] prometheus log:\n\(prometheus.logTail())") }
            }
        }
    }

    /// The stat panels that count what was sent show the corpus's figures.
    static func checkFigures(_ queries: [Query], _ corpus: DashboardCorpus, _ server: OpsightServer, _ card: Scorecard)
        async throws
    {
        func value(_ dashboard: String, _ panel: String) async throws -> Double? {
            guard let q = queries.first(where: { $0.dashboard == dashboard && $0.panel == panel }) else {
                card.fail("no panel \(panel) in \(dashboard)")
                return nil
            }
            let v = try await server.promQuery(q.expr)
            card.equal(v.result.count, 1, "\(q.what): one series")
            return v.result.first?.value.number
        }
        let requests = Double(corpus.requests.values.reduce(0, +))
        card.close(
            try await value("overview.json", "Requests/s, all services").map { $0 * 3600 }, requests,
            "overview: requests/s × 3600 = requests sent")
        card.close(
            try await value("service.json", "Requests/s").map { $0 * 3600 }, Double(corpus.requests["dash-api"] ?? 0),
            "service dash-api: requests/s × 3600 = requests sent")
        for event in ["succeeded", "failed", "retried"] {
            card.equal(
                try await value("jobs.json", "\(event.prefix(1).uppercased() + event.dropFirst()) (since start)"),
                Double(corpus.jobEvents["dash-api", default: [:]][event, default: 0]), "jobs dash-api/mail: \(event)")
        }
        card.equal(try await value("funnels.json", "Entered"), Double(corpus.entered.count), "funnel: entered")
    }

    /// Each variable's value: the test window for `window`, the first of the server's label values for a
    /// `label_values(...)` query (with the variables before it substituted); the data source is not substituted.
    static func resolveVariables(_ d: DashboardFile, server: OpsightServer, _ card: Scorecard) async throws
        -> [String: String]
    {
        var values: [String: String] = [:]
        for v in d.variables {
            switch v.type {
            case "datasource": continue
            case "custom":
                let options = v.query.split(separator: ",").map(String.init)
                card.check(options.contains(window), "\(d.name): \(v.name) offers \(window): \(options)")
                values[v.name] = v.name == "window" ? window : options.first ?? ""
            case "query":
                guard let query = DashboardFile.labelValues(v.query) else {
                    card.fail("\(d.name): variable \(v.name) query is not label_values(...): \(v.query)")
                    continue
                }
                let match = DashboardFile.substitute(query.selector, values)
                let list = try await labelValues(query.label, match: match, server: server)
                guard let first = list.first else {
                    card.fail("\(d.name): \(v.name) = label_values(\(match), \(query.label)) is empty")
                    continue
                }
                values[v.name] = first
            default:
                card.fail("\(d.name): variable \(v.name) has unsupported type \(v.type)")
            }
        }
        return values
    }

    /// `GET /api/v1/label/LABEL/values?match[]=SELECTOR` on Opsight, as Grafana's `label_values` asks it.
    static func labelValues(_ label: String, match: String, server: OpsightServer) async throws -> [String] {
        let r = try await server.client.request(
            .get, "/api/v1/label/\(label)/values" + OpsightClient.queryString([("match[]", match)]),
            token: server.readToken)
        return try PromAPI.data(r, as: [String].self, what: "opsight label_values(\(match), \(label))")
    }

    static func queries(_ d: DashboardFile, _ values: [String: String]) -> [Query] {
        d.panels.flatMap { p in
            p.targets.map { t in
                Query(
                    dashboard: d.name, panel: p.title, refId: t.refId, template: t.expr,
                    expr: DashboardFile.substitute(t.expr, values), legendFormat: t.legendFormat)
            }
        }
    }

    /// After at least two scrapes, every query through `promtool query instant` at the latest scrape's time
    /// against both; label sets (without Prometheus's `job` and `instance`) and values agree except for the
    /// volatile families.
    static func compare(
        _ queries: [Query], _ dashboards: [DashboardFile], _ prometheus: PrometheusProcess, _ server: OpsightServer,
        _ card: Scorecard
    ) async throws {
        try await eventually("prometheus scraped opsight twice, notifications included", timeout: .seconds(30)) {
            let scrapes = try PromAPI.data(
                try await prometheus.api("query", [("query", #"count_over_time(up{job="opsight"}[5m])"#)]),
                as: PromAPI.Vector.self, what: "prometheus count_over_time(up)")
            let n = scrapes.result.first?.value.number ?? 0
            let notifications = try PromAPI.data(
                try await prometheus.api("query", [("query", "opsight_notifications_total")]),
                as: PromAPI.Vector.self, what: "prometheus opsight_notifications_total")
            return (n >= 2 && !notifications.result.isEmpty, "\(n) scrapes")
        }
        let stamp = try PromAPI.data(
            try await prometheus.api("query", [("query", #"timestamp(up{job="opsight"})"#)]), as: PromAPI.Vector.self,
            what: "prometheus timestamp(up)")
        let up = try PromAPI.data(
            try await prometheus.api("query", [("query", #"up{job="opsight"}"#)]), as: PromAPI.Vector.self, what: "up")
        card.equal(up.result.first?.value.number, 1, "prometheus: up{job=\"opsight\"}")
        guard let scrapedAt = stamp.result.first?.value.number else {
            throw E2EError("no timestamp(up) from prometheus")
        }
        let time = TimeText.epochSecondsLiteral(ms: Int64((scrapedAt * 1000).rounded()))

        // The variables' label values agree too (Grafana asks the same endpoint of either).
        for d in dashboards {
            for v in d.variables {
                guard let query = DashboardFile.labelValues(v.query), !query.selector.contains("$") else { continue }
                let (selector, label) = query
                let mine = try await labelValues(label, match: selector, server: server)
                let theirs = try PromAPI.data(
                    try await prometheus.api("label/\(label)/values", [("match[]", selector)]), as: [String].self,
                    what: "prometheus label_values(\(selector), \(label))")
                card.equal(theirs, mine, "\(d.name): label_values(\(selector), \(label)) in prometheus and opsight")
            }
        }

        // promtool 2.42 does Basic auth only from the URL; the token is the password.
        let opsightURL = "http://e2e:\(server.readToken)@127.0.0.1:\(server.port)"
        var agreed = 0
        for q in queries {
            func run(_ url: String, _ who: String) async throws -> [[String: String]: Double]? {
                let r = try await Promtool.run(
                    ["query", "instant", "--time=\(time)", url, q.expr], in: server.directory)
                guard r.status == 0 else {
                    card.fail("\(who): promtool query instant \(q.what) exited \(r.status): \(r.stderr.prefix(500))")
                    return nil
                }
                var out: [[String: String]: Double] = [:]
                for s in try PromtoolOutput.instant(r.stdout) {
                    var labels = s.labels
                    if who == "prometheus" {
                        // The target's labels; with honor_labels a jobs family keeps its own `job`.
                        if labels["job"] == "opsight" { labels["job"] = nil }
                        labels["instance"] = nil
                    }
                    if let name = s.name { labels["__name__"] = name }
                    out[labels] = s.value
                }
                card.check(!out.isEmpty, "\(who): \(q.what) returned no series at \(time)")
                return out
            }
            guard let mine = try await run(opsightURL, "opsight"),
                let theirs = try await run(prometheus.baseURL, "prometheus")
            else { continue }
            card.equal(Set(theirs.keys), Set(mine.keys), "\(q.what): label sets in prometheus and opsight")
            guard !q.volatile else { continue }
            for (labels, v) in mine {
                card.equal(theirs[labels], v, "\(q.what) \(labels) @\(time): prometheus vs opsight")
            }
            agreed += 1
        }
        print("e2e[dashboards]: \(queries.count) panel queries, \(agreed) compared by value at \(time)")
    }
}
