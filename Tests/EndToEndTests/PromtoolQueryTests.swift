import Foundation
import Testing

/// SPEC §7 / issue 3: `promtool query instant|range|series|labels` against the live Prometheus-compatible API
/// return the figures of the events sent, and the API's JSON (answers and errors) has Prometheus's shapes.
///
/// The corpus's requests are 3–20 minutes old, so every `window="1h"` figure holds all of them and stays put
/// while the test runs: counts are exact (rate × 3600 = count), ratios exact to 1e-9.
@Suite(
    .serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason),
    .enabled(if: Promtool.available, "no promtool at \(Promtool.path): `scripts/stores.sh deps` installs prometheus")
)
struct PromtoolQueryTests {
    typealias Labels = [String: String]

    @Test func promtoolQueriesAgainstTheLiveAPIReturnTheCorpusFigures() async throws {
        try await withOpsightServer("promtool-query") { server, card in
            let corpus = PromCorpus(seed: 0x0905_1701, nowMs: E2EEnvironment.nowMs)
            try await Self.ingest(corpus, into: server, card)
            try await server.waitUntilVisible(corpus)
            let services = corpus.byService
            let routes = corpus.byRoute
            // The threshold below must not sit on a ratio the float arithmetic could tip either way.
            for (s, f) in services {
                card.check(abs(f.errorRatio - 0.2) > 0.05, "corpus: \(s) error ratio \(f.errorRatio) near 0.2")
            }

            // promtool 2.42 does Basic auth only from the URL; the token is the password.
            let url = "http://e2e:\(server.readToken)@127.0.0.1:\(server.port)"
            let nowSeconds = Double(E2EEnvironment.nowMs) / 1000

            func instant(_ expr: String) async throws -> [PromtoolOutput.Sample] {
                let r = try await Promtool.run(["query", "instant", url, expr], in: server.directory)
                card.equal(
                    r.status, 0, "promtool query instant '\(expr)' exit status (stderr: \(r.stderr.prefix(500)))")
                let samples = try PromtoolOutput.instant(r.stdout)
                for s in samples {
                    card.check(
                        abs(s.time - nowSeconds) < 60, "'\(expr)': evaluation time \(s.time) is not now (\(nowSeconds))"
                    )
                }
                return samples
            }

            /// The samples must be exactly `want`'s label sets, with values within 1e-9 (relative).
            func expect(_ expr: String, name: String? = nil, _ want: [Labels: Double]) async throws {
                let got = try await instant(expr)
                card.equal(got.count, want.count, "'\(expr)': number of samples (got \(got))")
                card.equal(Set(got.map(\.labels)), Set(want.keys), "'\(expr)': label sets")
                for s in got {
                    card.equal(s.name, name, "'\(expr)': metric name of \(s)")
                    if let w = want[s.labels] { card.close(s.value, w, relative: 1e-9, "'\(expr)' \(s.labels)") }
                }
            }

            try await expect(
                #"sum by (service) (opsight_request_rate{window="1h"}) * 3600"#,
                Dictionary(uniqueKeysWithValues: services.map { (["service": $0.key], Double($0.value.count)) }))
            try await expect(
                #"opsight_service_error_ratio{window="1h"} > 0.2"#, name: "opsight_service_error_ratio",
                Dictionary(
                    uniqueKeysWithValues: services.filter { $0.value.errorRatio > 0.2 }.map {
                        (["service": $0.key, "window": "1h"], $0.value.errorRatio)
                    }))
            try await expect(#"count(opsight_request_rate{window="1h"})"#, [[:]: Double(routes.count)])
            try await expect(
                #"count by (service) (opsight_request_rate{window="1h",method!="GET"})"#,
                Dictionary(
                    grouping: routes.keys.filter { $0.method != "GET" }, by: \.service
                ).reduce(into: [Labels: Double]()) { $0[["service": $1.key]] = Double($1.value.count) })
            try await expect(
                #"sum by (code_class) (opsight_requests_total{service="pq-bravo"})"#,
                services["pq-bravo", default: .init()].byClass.reduce(into: [Labels: Double]()) {
                    $0[["code_class": $1.key]] = Double($1.value)
                })
            try await expect(
                #"max by (service) (opsight_request_error_ratio{window="1h"})"#,
                Dictionary(grouping: routes, by: \.key.service).reduce(into: [Labels: Double]()) {
                    $0[["service": $1.key]] = $1.value.map(\.value.errorRatio).max()!
                })
            try await expect(
                #"sum(opsight_service_request_rate{window="1h",service=~"pq-(alpha|charlie)"}) * 3600"#,
                [
                    [:]: Double(
                        services["pq-alpha", default: .init()].count + services["pq-charlie", default: .init()].count)
                ])
            try await expect(
                #"opsight_service_error_ratio{window="1h"} * on(service) opsight_service_request_rate{window="1h"} * 3600"#,
                Dictionary(
                    // One-to-one matching with on(): the result keeps only the `on` labels (as Prometheus does).
                    uniqueKeysWithValues: services.map { (["service": $0.key], Double($0.value.serverErrors)) }))
            try await expect(
                #"clamp_max(opsight_service_error_ratio{window="1h"}, 0.3)"#,
                Dictionary(
                    uniqueKeysWithValues: services.map {
                        (["service": $0.key, "window": "1h"], min($0.value.errorRatio, 0.3))
                    }))
            try await expect(
                #"absent(opsight_service_request_rate{service="pq-nobody",window="1h"})"#,
                [["service": "pq-nobody", "window": "1h"]: 1])
            try await expect("2 * 21", name: "scalar", [[:]: 42])

            // Latency quantiles: SPEC §5's 1 % of the exact sample quantile.
            let latency = try await instant(#"opsight_service_latency_seconds{window="1h",quantile="0.95"}"#)
            card.equal(Set(latency.compactMap { $0.labels["service"] }), Set(services.keys), "p95 latency: services")
            for s in latency {
                let service = s.labels["service"] ?? "?"
                card.quantile(
                    s.value, exactMs: PromCorpus.exactQuantile(services[service]?.durationsMs ?? [], 0.95),
                    "promtool p95 latency of \(service)")
            }

            // A range query: every step of the last two minutes shows every request.
            let end = Int64(E2EEnvironment.nowMs / 1000)
            let start = end - 120
            let rangeExpr = #"sum by (service) (opsight_service_request_rate{window="1h"}) * 3600"#
            let range = try await Promtool.run(
                ["query", "range", "--start=\(start)", "--end=\(end)", "--step=30s", url, rangeExpr],
                in: server.directory)
            card.equal(range.status, 0, "promtool query range exit status (stderr: \(range.stderr.prefix(500)))")
            let series = try PromtoolOutput.range(range.stdout)
            card.equal(Set(series.map(\.labels)), Set(services.keys.map { ["service": $0] }), "query range: series")
            for s in series {
                let service = s.labels["service"] ?? "?"
                card.equal(
                    s.points.map(\.time), stride(from: start, through: end, by: 30).map(Double.init),
                    "range points of \(service)")
                for p in s.points {
                    card.close(
                        p.value, Double(services[service]?.count ?? -1), relative: 1e-9, "range \(service) @\(p.time)")
                }
            }

            // Series and label values (GET requests with `match%5B%5D`, as Go's url.Values writes them).
            let seriesRun = try await Promtool.run(
                ["query", "series", #"--match=opsight_service_request_rate{window="1h"}"#, url], in: server.directory)
            card.equal(
                seriesRun.status, 0,
                "promtool query series exit status (stdout: \(seriesRun.stdout.prefix(300)), stderr: \(seriesRun.stderr.prefix(500)))"
            )
            let seriesGot = seriesRun.stdout.split(separator: "\n").map { PromtoolOutput.metric(String($0)).1 }
            card.equal(
                Set(seriesGot),
                Set(services.keys.map { ["__name__": "opsight_service_request_rate", "service": $0, "window": "1h"] }),
                "promtool query series")
            let valuesRun = try await Promtool.run(["query", "labels", url, "service"], in: server.directory)
            card.equal(
                valuesRun.status, 0, "promtool query labels exit status (stderr: \(valuesRun.stderr.prefix(500)))")
            card.equal(
                valuesRun.stdout.split(separator: "\n").map(String.init), services.keys.sorted(),
                "promtool query labels service")

            // Outside the subset: promtool fails with the server's message, which points to the window label.
            for (expr, construct) in [
                ("rate(opsight_request_rate[5m])", "'rate'"),
                (#"opsight_request_rate{window="1h"}[5m]"#, "range vector"),
            ] {
                let r = try await Promtool.run(["query", "instant", url, expr], in: server.directory)
                let output = r.stdout + r.stderr
                card.check(r.status != 0, "promtool query instant '\(expr)' should fail, exited 0: \(output)")
                for part in ["bad_data", construct, "window"] {
                    card.check(
                        output.contains(part), "promtool's message for '\(expr)' should contain \(part): \(output)")
                }
            }
            let wrong = try await Promtool.run(
                ["query", "instant", "http://e2e:not-a-token@127.0.0.1:\(server.port)", "1"], in: server.directory)
            card.check(
                wrong.status != 0 && (wrong.stdout + wrong.stderr).contains("401"),
                "a wrong token: promtool fails with 401, got \(wrong)")
        }
    }

    @Test func prometheusAPIAnswersAndErrorsHavePrometheusShapes() async throws {
        try await withOpsightServer("prom-api-shapes") { server, card in
            let corpus = PromCorpus(seed: 0x0905_1702, nowMs: E2EEnvironment.nowMs, count: 600)
            try await Self.ingest(corpus, into: server, card)
            try await server.waitUntilVisible(corpus)
            let services = corpus.byService
            let client = server.client
            let token = server.readToken
            let form = [("Content-Type", "application/x-www-form-urlencoded")]
            let countsExpr = #"sum by (service) (opsight_service_request_rate{window="1h"}) * 3600"#
            let wantCounts = Dictionary(uniqueKeysWithValues: services.map { ($0.key, Double($0.value.count)) })

            // Form-encoded POST /api/v1/query at a fractional time: exact JSON shape.
            let time = "\(E2EEnvironment.nowMs / 1000 - 30).25"
            let post = try await client.request(
                .post, "/api/v1/query", token: token, headers: form,
                body: Array(formEncode([("query", countsExpr), ("time", time)]).utf8))
            card.equal(post.status, 200, "POST /api/v1/query status (\(post.text.prefix(300)))")
            card.equal(
                post.header("Content-Type").map { $0.hasPrefix("application/json") }, true,
                "POST /api/v1/query content type")
            let top = Self.object(post.body)
            card.equal(top.map { Set($0.keys) }, ["status", "data"], "query answer keys: \(post.text.prefix(300))")
            card.equal(top?["status"] as? String, "success", "query answer status")
            let data = top?["data"] as? [String: Any]
            card.equal(data.map { Set($0.keys) }, ["resultType", "result"], "query data keys")
            card.equal(data?["resultType"] as? String, "vector", "query resultType")
            let result = data?["result"] as? [[String: Any]] ?? []
            var gotCounts: [String: Double] = [:]
            for item in result {
                card.equal(Set(item.keys), ["metric", "value"], "vector sample keys")
                let metric = item["metric"] as? [String: String]
                card.equal(
                    metric.map { Set($0.keys) }, ["service"],
                    "vector sample metric \(String(describing: item["metric"]))")
                let value = item["value"] as? [Any] ?? []
                card.equal(value.count, 2, "value is [time, \"value\"]")
                card.check(value.first is NSNumber && !(value.first is String), "value[0] is a JSON number: \(value)")
                card.equal((value.first as? NSNumber)?.doubleValue, Double(time)!, "value[0] is the evaluation time")
                card.check(value.last is String, "value[1] is a JSON string: \(value)")
                if let s = metric?["service"], let v = (value.last as? String).flatMap(Double.init) { gotCounts[s] = v }
            }
            card.equal(Set(gotCounts.keys), Set(wantCounts.keys), "POST query: services")
            for (s, v) in gotCounts { card.close(v, wantCounts[s], relative: 1e-9, "POST query count of \(s)") }

            // The same query as a GET whose query string is form-encoded (spaces as '+'), as Go clients send it.
            let getForm = try await client.request(
                .get, "/api/v1/query?" + formEncode([("query", countsExpr), ("time", time)]), token: token)
            card.equal(
                getForm.status, 200, "GET /api/v1/query with '+' for spaces: status (\(getForm.text.prefix(300)))")
            card.equal(getForm.text, post.text, "GET with a form-encoded query string answers as the POST does")
            let offset = try await client.request(
                .get,
                "/api/v1/query?" + formEncode([("query", #"opsight_service_request_rate{window="1h"} offset 5m"#)]),
                token: token)
            card.equal(
                offset.status, 400,
                "GET ?query=…+offset+5m is rejected (offset is outside the subset): \(offset.text.prefix(300))")

            // query_range: matrix of [time, "value"] points.
            let end = E2EEnvironment.nowMs / 1000
            let range = try await client.request(
                .post, "/api/v1/query_range", token: token, headers: form,
                body: Array(
                    formEncode([("query", countsExpr), ("start", "\(end - 60)"), ("end", "\(end)"), ("step", "15")])
                        .utf8))
            let matrix = try PromAPI.data(range, as: PromAPI.Matrix.self, what: "POST /api/v1/query_range")
            card.equal(matrix.resultType, "matrix", "query_range resultType")
            card.equal(Set(matrix.result.map { $0.metric["service"] ?? "?" }), Set(services.keys), "query_range series")
            for s in matrix.result {
                card.equal(
                    s.values.map(\.time), stride(from: end - 60, through: end, by: 15).map(Double.init),
                    "query_range times")
                for p in s.values {
                    card.close(p.number, wantCounts[s.metric["service"] ?? "?"], "query_range \(s.metric) @\(p.time)")
                }
            }

            // /api/v1/series: one label set per matching series, from every match[] (form POST, as Grafana sends).
            let series = try PromAPI.data(
                try await client.request(
                    .post, "/api/v1/series", token: token, headers: form,
                    body: Array(
                        formEncode([
                            ("match[]", #"opsight_service_request_rate{window="1h"}"#),
                            ("match[]", #"opsight_service_error_ratio{window="1h"}"#),
                        ]).utf8)), as: [[String: String]].self, what: "POST /api/v1/series")
            var wantSeries = Set<[String: String]>()
            for s in services.keys {
                for name in ["opsight_service_request_rate", "opsight_service_error_ratio"] {
                    wantSeries.insert(["__name__": name, "service": s, "window": "1h"])
                }
            }
            card.equal(Set(series), wantSeries, "/api/v1/series with two match[]")
            card.equal(series.count, wantSeries.count, "/api/v1/series lists each series once")
            // The same as a GET, the parameter name percent-encoded as Go's url.Values (promtool) sends it.
            let getSeries = try await client.request(
                .get,
                "/api/v1/series"
                    + OpsightClient.queryString([("match[]", #"opsight_service_request_rate{window="1h"}"#)]),
                token: token)
            card.equal(
                getSeries.status, 200, "GET /api/v1/series?match%5B%5D=…: status (\(getSeries.text.prefix(300)))")
            card.equal(
                Set((try? PromAPI.data(getSeries, as: [[String: String]].self, what: "GET /api/v1/series")) ?? []),
                Set(services.keys.map { ["__name__": "opsight_service_request_rate", "service": $0, "window": "1h"] }),
                "GET /api/v1/series?match%5B%5D=…")
            let getLabels = try await client.request(
                .get, "/api/v1/labels" + OpsightClient.queryString([("match[]", "opsight_service_error_ratio")]),
                token: token)
            card.equal(
                try? PromAPI.data(getLabels, as: [String].self, what: "GET /api/v1/labels?match%5B%5D=…"),
                ["__name__", "service", "window"], "GET /api/v1/labels?match%5B%5D=opsight_service_error_ratio")

            // Label names and values.
            let labels = try PromAPI.data(
                try await client.request(.get, "/api/v1/labels", token: token), as: [String].self,
                what: "/api/v1/labels")
            for name in ["__name__", "service", "route", "method", "window", "quantile", "code_class"] {
                card.check(labels.contains(name), "/api/v1/labels contains \(name): \(labels)")
            }
            card.equal(labels, labels.sorted(), "/api/v1/labels is sorted")
            let serviceValues = try PromAPI.data(
                try await client.request(.get, "/api/v1/label/service/values", token: token), as: [String].self,
                what: "/api/v1/label/service/values")
            card.equal(serviceValues, services.keys.sorted(), "/api/v1/label/service/values")
            let methodValues = try PromAPI.data(
                try await client.request(.get, "/api/v1/label/method/values", token: token), as: [String].self,
                what: "/api/v1/label/method/values")
            card.equal(methodValues, Array(Set(corpus.requests.map(\.method))).sorted(), "/api/v1/label/method/values")

            // Basic auth with the token as password works like Bearer.
            let basic = "Basic " + Data("grafana:\(token)".utf8).base64EncodedString()
            let viaBasic = try await client.request(
                .get, "/api/v1/label/service/values", token: nil, headers: [("Authorization", basic)])
            card.equal(viaBasic.status, 200, "Basic auth with the token as password")

            // Errors: Prometheus's shape.
            func expectError(_ r: HTTPResult, status: Int, type: String, contains parts: [String], _ what: String) {
                card.equal(r.status, status, "\(what): HTTP status (\(r.text.prefix(300)))")
                let e = Self.object(r.body)
                card.equal(e.map { Set($0.keys) }, ["status", "errorType", "error"], "\(what): error keys")
                card.equal(e?["status"] as? String, "error", "\(what): status")
                card.equal(e?["errorType"] as? String, type, "\(what): errorType")
                let message = e?["error"] as? String ?? ""
                for p in parts { card.check(message.contains(p), "\(what): error \"\(message)\" should contain \(p)") }
            }
            expectError(
                try await client.request(
                    .get, "/api/v1/query" + OpsightClient.queryString([("query", "sum(")]), token: token),
                status: 400, type: "bad_data", contains: ["1:5"], "syntax error")
            expectError(
                try await client.request(
                    .post, "/api/v1/query", token: token, headers: form,
                    body: Array(formEncode([("query", "sum(")]).utf8)),
                status: 400, type: "bad_data", contains: ["1:5"], "syntax error (POST)")
            for (expr, construct) in [
                ("rate(opsight_request_rate[5m])", "rate"), (#"opsight_request_rate{window="1h"}[5m]"#, "range vector"),
                (#"opsight_request_rate{window="1h"}[5m:1m]"#, "subquer"),
                (#"opsight_request_rate{window="1h"} offset 5m"#, "offset"),
            ] {
                expectError(
                    try await client.request(
                        .get, "/api/v1/query" + OpsightClient.queryString([("query", expr)]), token: token),
                    status: 400, type: "bad_data", contains: [construct], "'\(expr)'")
            }
            expectError(
                try await client.request(.get, "/api/v1/series", token: token), status: 400, type: "bad_data",
                contains: ["match[]"], "/api/v1/series without match[]")
            expectError(
                try await client.request(
                    .get,
                    "/api/v1/query_range"
                        + OpsightClient.queryString([("query", "1"), ("start", "10"), ("end", "5"), ("step", "1")]),
                    token: token),
                status: 400, type: "bad_data", contains: ["end"], "query_range with end before start")
            let anonymous = try await client.request(.get, "/api/v1/query?query=1", token: nil)
            card.equal(anonymous.status, 401, "/api/v1/query without a token")
            card.equal(
                Self.object(anonymous.body)?["status"] as? String, "error",
                "/api/v1/query without a token: Prometheus error shape")
        }
    }

    static func ingest(_ corpus: PromCorpus, into server: OpsightServer, _ card: Scorecard) async throws {
        let r = try await server.client.ingest(corpus.body, gzip: true)
        guard r.status == 200 else { throw E2EError("ingest answered \(r.status): \(r.text.prefix(500))") }
        let answer = try r.decode(IngestAnswer.self)
        card.equal(answer.accepted, corpus.lines.count, "ingest accepted (errors: \(answer.errors.prefix(3)))")
    }

    static func object(_ body: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }
}
