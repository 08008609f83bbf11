import Foundation
import Testing

/// Issue 13: every shipped dashboard is structurally sound Grafana JSON (unique panel ids, panels on the 24-column
/// grid without overlaps, no data source uid but `${datasource}`, every referenced variable defined). Needs
/// nothing running.
@Suite struct DashboardsTests {
    @Test func theFiveDashboardsShip() throws {
        let files = try DashboardFile.loadAll()
        #expect(
            Set(files.map(\.uid))
                == ["opsight-overview", "opsight-service", "opsight-jobs", "opsight-funnels", "opsight-self"])
        #expect(Set(files.map(\.uid)).count == files.count, "dashboard uids are unique")
        let service = try #require(files.first { $0.uid == "opsight-service" })
        // The family SPEC §6 names for request counts (there is no opsight_service_requests_total).
        #expect(
            service.variables.first { $0.name == "service" }?.query
                == "label_values(opsight_requests_total, service)")
    }

    @Test(arguments: DashboardFile.fileNames)
    func dashboardIsStructurallySound(_ name: String) throws {
        let file = try DashboardFile.load(name)
        #expect(DashboardLint.problems(file.json, file: name) == [])
        for panel in file.panels {
            for target in panel.targets {
                // Windows are a label (SPEC §7): no range vectors, so no `[` anywhere in a query.
                #expect(!target.expr.contains("["), "\(name) \(panel.title): range vector in \(target.expr)")
            }
        }
    }

    /// The shipped scrape snippet keeps the jobs families' own `job` label (else Prometheus renames it
    /// `exported_job` and the dashboards' job panels lose it) and sends the token; `DashboardsQueryTests` scrapes
    /// the same way.
    @Test func prometheusScrapeSnippetHonoursLabelsAndSendsTheToken() throws {
        let text = try String(
            contentsOf: DashboardFile.folder.appendingPathComponent("provisioning/prometheus/scrape.yml"),
            encoding: .utf8)
        #expect(text.contains("honor_labels: true"))
        #expect(text.contains("type: Bearer"))
        #expect(text.contains("metrics_path: /metrics"))
    }

    /// `promtool check config` accepts the snippet as a whole prometheus.yml (with the token file present).
    @Test(.enabled(if: Promtool.available, "no promtool at \(Promtool.path)"))
    func prometheusScrapeSnippetPassesPromtoolCheckConfig() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "opsight-dashboards-\(E2EEnvironment.randomID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let token = directory.appendingPathComponent("opsight.token")
        try Data("t-example\n".utf8).write(to: token)
        let snippet = try String(
            contentsOf: DashboardFile.folder.appendingPathComponent("provisioning/prometheus/scrape.yml"),
            encoding: .utf8)
        #expect(snippet.contains("/etc/prometheus/opsight.token"))
        let config = directory.appendingPathComponent("prometheus.yml")
        try Data(snippet.replacingOccurrences(of: "/etc/prometheus/opsight.token", with: token.path).utf8)
            .write(to: config)
        let r = try await Promtool.run(["check", "config", config.path], in: directory)
        #expect(r.status == 0, "promtool check config: \(r.stdout) \(r.stderr)")
    }

    /// The checker finds each kind of defect (a check that cannot fail proves nothing).
    @Test func lintReportsEachDefect() throws {
        let bad = """
            {"uid": "x", "title": "x", "schemaVersion": 39, "refresh": "30s", "time": {"from": "now-1h", "to": "now"},
             "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"},
                                     {"name": "service", "type": "query", "query": "label_values(m{a=\\"$later\\"}, service)",
                                      "datasource": {"type": "prometheus", "uid": "${datasource}"}},
                                     {"name": "later", "type": "custom", "query": "a,b"}]},
             "panels": [
               {"id": 1, "type": "timeseries", "title": "a", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                "datasource": {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"},
                "targets": [{"refId": "A", "expr": "m{service=\\"$service\\",x=\\"$nope\\"}", "legendFormat": ""}],
                "fieldConfig": {"defaults": {"unit": "s"}}},
               {"id": 1, "type": "piechart", "title": "b", "gridPos": {"x": 6, "y": 4, "w": 12, "h": 8},
                "targets": [{"refId": "A", "expr": "m", "legendFormat": "", "datasource": "Prometheus"}],
                "fieldConfig": {"defaults": {}}},
               {"id": 3, "type": "stat", "title": "c", "gridPos": {"x": 20, "y": 20, "w": 6, "h": 4},
                "targets": [], "fieldConfig": {"defaults": {"unit": "s"}}}
             ]}
            """
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bad.utf8)) as? [String: Any])
        let problems = DashboardLint.problems(json, file: "bad.json")
        for part in [
            "variable service uses $later before it is defined",
            "panels[0].datasource is",
            "panels[1].targets[0].datasource is",
            "references undefined variable $nope",
            "id 1 is used twice",
            "type \"piechart\"",
            "fieldConfig.defaults.unit is missing",
            "gridPos overlaps panel 1",
            "outside the 24-column grid",
            "(c) has no targets",
        ] {
            #expect(problems.contains { $0.contains(part) }, "expected a problem containing \(part): \(problems)")
        }
    }

    @Test func substitutionReplacesWholeVariableNames() {
        let values = ["service": "a-b", "window": "1h"]
        #expect(
            DashboardFile.substitute(#"m{service="$service",window="${window}",x="$services",y="[[window]]"}"#, values)
                == #"m{service="a-b",window="1h",x="$services",y="1h"}"#)
        #expect(DashboardFile.references(in: #"x $__interval ${a:regex} [[b]] $c"#) == ["__interval", "a", "b", "c"])
        #expect(
            DashboardFile.labelValues(#"label_values(opsight_jobs_total{service=~"$service"}, queue)"#)! == (
                #"opsight_jobs_total{service=~"$service"}"#, "queue"
            ))
    }
}
