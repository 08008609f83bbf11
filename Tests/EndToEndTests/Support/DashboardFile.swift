import Foundation

/// One shipped Grafana dashboard (`dashboards/*.json`, SPEC §13) as the tests read it: the raw JSON tree for the
/// structural checks, and its variables and panel queries for the evaluation against Opsight and Prometheus.
struct DashboardFile {
    struct Variable {
        var name: String
        var type: String
        /// The variable's query (`label_values(...)`, a custom list, or `prometheus` for the data source).
        var query: String
        var allValue: String?
    }

    struct Target {
        var refId: String
        var expr: String
        var legendFormat: String
    }

    struct Panel {
        var id: Int?
        var type: String
        var title: String
        var targets: [Target]
    }

    /// The file name, e.g. `overview.json`.
    let name: String
    let json: [String: Any]

    var uid: String { json["uid"] as? String ?? "" }
    var title: String { json["title"] as? String ?? "" }

    var variables: [Variable] {
        let list = (json["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        return list.map { v in
            Variable(
                name: v["name"] as? String ?? "", type: v["type"] as? String ?? "",
                query: Self.queryText(v["query"]), allValue: v["allValue"] as? String)
        }
    }

    var panels: [Panel] {
        (json["panels"] as? [[String: Any]] ?? []).map { p in
            Panel(
                id: p["id"] as? Int, type: p["type"] as? String ?? "", title: p["title"] as? String ?? "",
                targets: (p["targets"] as? [[String: Any]] ?? []).map { t in
                    Target(
                        refId: t["refId"] as? String ?? "", expr: t["expr"] as? String ?? "",
                        legendFormat: t["legendFormat"] as? String ?? "")
                })
        }
    }

    /// The shipped folder, `<package root>/dashboards`.
    static let folder = E2EEnvironment.packageRoot.appendingPathComponent("dashboards")

    /// The `*.json` file names of the folder, sorted.
    static var fileNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }
            .sorted()
    }

    static func load(_ name: String) throws -> DashboardFile {
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw E2EError("\(name): the top level is not a JSON object")
        }
        return DashboardFile(name: name, json: json)
    }

    static func loadAll() throws -> [DashboardFile] { try fileNames.map(load) }

    /// A query variable's text: Grafana stores it as a string, or (newer editors) as `{"query": "..."}`.
    static func queryText(_ value: Any?) -> String {
        if let s = value as? String { return s }
        return (value as? [String: Any])?["query"] as? String ?? ""
    }

    /// Names referenced as `$name`, `${name}`, `${name:format}` or `[[name]]` in `text`.
    static func references(in text: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]"#)
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { m in
            (1...3).lazy.compactMap { Range(m.range(at: $0), in: text) }.first.map { String(text[$0]) }
        }
    }

    /// `text` with every reference to a variable of `values` replaced by its value (as Grafana interpolates a
    /// single value); other references stay.
    static func substitute(_ text: String, _ values: [String: String]) -> String {
        var out = text
        // Longest names first, so `$service` never eats the start of `$services`.
        for (name, value) in values.sorted(by: { $0.key.count > $1.key.count }) {
            out = out.replacingOccurrences(of: "${\(name)}", with: value)
                .replacingOccurrences(of: "[[\(name)]]", with: value)
            let pattern = try! NSRegularExpression(pattern: "\\$\(name)(?!\\w)")
            out = pattern.stringByReplacingMatches(
                in: out, range: NSRange(out.startIndex..., in: out),
                withTemplate: NSRegularExpression.escapedTemplate(for: value))
        }
        return out
    }

    /// `label_values(SELECTOR, LABEL)` → (selector, label); nil for any other query.
    static func labelValues(_ query: String) -> (selector: String, label: String)? {
        let pattern = try! NSRegularExpression(pattern: #"^\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*$"#)
        guard let m = pattern.firstMatch(in: query, range: NSRange(query.startIndex..., in: query)),
            let s = Range(m.range(at: 1), in: query), let l = Range(m.range(at: 2), in: query)
        else { return nil }
        return (String(query[s]), String(query[l]))
    }

    /// `{{label}}` names in a legend format.
    static func legendLabels(_ format: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"\{\{\s*(\w+)\s*\}\}"#)
        return pattern.matches(in: format, range: NSRange(format.startIndex..., in: format)).compactMap {
            Range($0.range(at: 1), in: format).map { String(format[$0]) }
        }
    }
}

/// The structural rules every shipped dashboard keeps (issue 13), as a list of problems; empty when it is fine.
enum DashboardLint {
    static let panelTypes: Set<String> = ["timeseries", "stat", "table"]
    static let datasource = "${datasource}"

    static func problems(_ json: [String: Any], file: String) -> [String] {
        var out: [String] = []
        func problem(_ s: String) { out.append("\(file): \(s)") }

        for key in ["uid", "title", "refresh"] where ((json[key] as? String) ?? "").isEmpty {
            problem("\(key) is missing or empty")
        }
        if !(json["schemaVersion"] is Int) { problem("schemaVersion is not an integer") }
        let time = json["time"] as? [String: Any]
        if !(time?["from"] is String && time?["to"] is String) { problem("time needs from and to") }

        // Variables: unique names; the data source one is a Prometheus picker; a query or expression may only
        // use variables defined before it (Grafana resolves them in order).
        let list = (json["templating"] as? [String: Any])?["list"] as? [[String: Any]]
        if list == nil { problem("templating.list is missing") }
        var defined: [String] = []
        for v in list ?? [] {
            let name = v["name"] as? String ?? ""
            if name.isEmpty || defined.contains(name) { problem("variable name \"\(name)\" is empty or repeated") }
            for ref in refs(in: v) where !ref.hasPrefix("__") && !defined.contains(ref) {
                problem("variable \(name) uses $\(ref) before it is defined")
            }
            defined.append(name)
        }
        if let ds = list?.first(where: { $0["name"] as? String == "datasource" }) {
            if ds["type"] as? String != "datasource" || ds["query"] as? String != "prometheus" {
                problem("the datasource variable must be of type datasource with query prometheus")
            }
        } else {
            problem("no datasource variable")
        }

        // Every `datasource` anywhere is the variable, never a fixed uid.
        walk(json, path: "") { path, key, value in
            guard key == "datasource" else { return }
            let object = value as? [String: Any]
            if object?["uid"] as? String != datasource || object?["type"] as? String != "prometheus" {
                problem("\(path) is \(value), want {type: prometheus, uid: \(datasource)}")
            }
        }

        // Every referenced variable is defined (Grafana's `$__…` built-ins aside).
        var strings: [(String, String)] = []
        walk(json, path: "") { path, _, value in if let s = value as? String { strings.append((path, s)) } }
        for (path, s) in strings {
            for ref in DashboardFile.references(in: s) where !ref.hasPrefix("__") && !defined.contains(ref) {
                problem("\(path) references undefined variable $\(ref)")
            }
        }

        // Panels: unique ids, allowed types, targets with expressions, a unit, and a place on the 24-column grid
        // that no other panel shares.
        let panels = json["panels"] as? [[String: Any]] ?? []
        if panels.isEmpty { problem("no panels") }
        var ids: Set<Int> = []
        var boxes: [(id: Int, x: Int, y: Int, w: Int, h: Int)] = []
        for (i, p) in panels.enumerated() {
            let place = "panels[\(i)] (\(p["title"] as? String ?? "untitled"))"
            guard let id = p["id"] as? Int else {
                problem("\(place) has no integer id")
                continue
            }
            if !ids.insert(id).inserted { problem("\(place): id \(id) is used twice") }
            let type = p["type"] as? String ?? ""
            if !panelTypes.contains(type) { problem("\(place): type \"\(type)\" is not one of \(panelTypes.sorted())") }
            let targets = p["targets"] as? [[String: Any]] ?? []
            if targets.isEmpty { problem("\(place) has no targets") }
            var refIds: Set<String> = []
            for t in targets {
                let refId = t["refId"] as? String ?? ""
                if refId.isEmpty || !refIds.insert(refId).inserted {
                    problem("\(place): refId \"\(refId)\" empty or repeated")
                }
                let expr = t["expr"] as? String ?? ""
                if expr.trimmingCharacters(in: .whitespaces).isEmpty { problem("\(place) target \(refId): empty expr") }
                if !(t["legendFormat"] is String) { problem("\(place) target \(refId): no legendFormat") }
            }
            let unit = ((p["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any])?["unit"] as? String
            if (unit ?? "").isEmpty { problem("\(place): fieldConfig.defaults.unit is missing") }
            let g = p["gridPos"] as? [String: Any]
            guard let x = g?["x"] as? Int, let y = g?["y"] as? Int, let w = g?["w"] as? Int, let h = g?["h"] as? Int
            else {
                problem("\(place): gridPos needs integer x, y, w, h")
                continue
            }
            if x < 0 || y < 0 || w < 1 || h < 1 || x + w > 24 {
                problem("\(place): gridPos x=\(x) w=\(w) y=\(y) h=\(h) is outside the 24-column grid")
            }
            for b in boxes where x < b.x + b.w && b.x < x + w && y < b.y + b.h && b.y < y + h {
                problem("\(place): gridPos overlaps panel \(b.id)")
            }
            boxes.append((id, x, y, w, h))
        }
        return out
    }

    /// Variable references in every string under `value`.
    private static func refs(in value: Any) -> [String] {
        var out: [String] = []
        walk(value, path: "") { _, _, v in if let s = v as? String { out += DashboardFile.references(in: s) } }
        return out
    }

    /// Calls `visit(path, key, value)` for every value under `value` (key: the object key, or nil in arrays).
    static func walk(_ value: Any, path: String, _ visit: (String, String?, Any) -> Void) {
        if let object = value as? [String: Any] {
            for (k, v) in object.sorted(by: { $0.key < $1.key }) {
                let p = path.isEmpty ? k : "\(path).\(k)"
                visit(p, k, v)
                walk(v, path: p, visit)
            }
        } else if let array = value as? [Any] {
            for (i, v) in array.enumerated() {
                let p = "\(path)[\(i)]"
                visit(p, nil, v)
                walk(v, path: p, visit)
            }
        }
    }
}
