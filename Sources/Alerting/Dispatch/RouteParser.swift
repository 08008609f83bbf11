import PromQL
import Yams

/// Parses the route tree, resolving inherited options and checking receivers exist.
struct RouteParser {
    /// Where errors go.
    let scope: YAMLScope
    /// The defined receiver names.
    let receivers: Set<String>

    private static let keys = [
        "receiver", "group_by", "group_wait", "group_interval", "repeat_interval", "matchers", "match", "match_re",
        "continue", "routes",
    ]

    /// The root route: Alertmanager's defaults (30s, 5m, 4h) apply to what it does not set.
    func parseRoot(_ node: Node) -> Route? {
        guard let fields = scope.mapping(node, allowed: Self.keys, what: "route") else { return nil }
        if fields.value("receiver") == nil {
            scope.report(.missingField, at: node, "root route must specify a default receiver")
        }
        if fields.has("matchers") || fields.has("match") || fields.has("match_re") {
            scope.report(.invalidValue, at: node, "root route must not have any matchers")
        }
        if fields.value("continue").flatMap({ $0.bool }) == true {
            scope.report(.invalidValue, at: node, "cannot have continue in root route")
        }
        let defaults = Route(
            receiver: "", groupBy: [], groupByAll: false, groupWait: .seconds(30), groupInterval: .minutes(5),
            repeatInterval: .minutes(240), matchers: [], continueMatching: false, routes: [], key: "", id: "")
        return parse(node, fields: fields, parent: defaults, parentKey: nil, position: nil)
    }

    private func parse(_ node: Node, fields: YAMLMapping, parent: Route, parentKey: String?, position: Int?) -> Route {
        var route = parent
        route.routes = []
        route.continueMatching = false
        if let node = fields.value("receiver"), let name = scope.string(node, what: "receiver") {
            route.receiver = name
            if !receivers.contains(name) {
                scope.report(.reference, at: node, "undefined receiver \(name.goQuoted) used in route")
            }
        }
        if let node = fields.value("group_by"), let labels = scope.strings(node, what: "group_by") {
            route.groupByAll = labels.contains("...")
            if route.groupByAll && labels.count > 1 {
                scope.report(
                    .invalidValue, at: node, "cannot have wildcard group_by (`...`) and other labels at the same time")
            }
            for label in labels where label != "..." && !LabelName.isValid(label) {
                scope.report(.invalidValue, at: node, "invalid label name \(label.goQuoted) in group_by")
            }
            if Set(labels).count != labels.count { scope.report(.duplicate, at: node, "duplicated label in group_by") }
            route.groupBy = route.groupByAll ? [] : labels.sorted()
        }
        if let node = fields.value("group_wait"), let value = scope.duration(node, what: "group_wait") {
            route.groupWait = value
        }
        for (key, path) in [("group_interval", \Route.groupInterval), ("repeat_interval", \Route.repeatInterval)] {
            guard let node = fields.value(key), let value = scope.duration(node, what: key) else { continue }
            if value.milliseconds == 0 { scope.report(.invalidValue, at: node, "\(key) cannot be zero") }
            route[keyPath: path] = value
        }
        if let node = fields.value("continue"), let value = scope.bool(node, what: "continue") {
            route.continueMatching = value
        }
        route.matchers = Route.sorted(
            MatcherFields(scope: scope).matchers(fields, key: "matchers", legacyEqual: "match", legacyRegex: "match_re")
        )
        route.key = (parentKey.map { $0 + "/" } ?? "") + Route.text(of: route.matchers)
        route.id = route.key + (position.map { "/\($0)" } ?? "")
        if let node = fields.value("routes"), let children = scope.sequence(node, what: "routes") {
            for (index, child) in children.enumerated() {
                guard let childFields = scope.mapping(child, allowed: Self.keys, what: "route") else { continue }
                route.routes.append(
                    parse(child, fields: childFields, parent: route, parentKey: route.key, position: index))
            }
        }
        return route
    }
}
