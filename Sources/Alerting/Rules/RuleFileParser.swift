import Yams

/// Parses one rule file into groups, reporting every problem with its line as promtool does.
struct RuleFileParser {
    /// The file's path, for errors.
    let file: String
    /// Where errors go.
    let sink: DiagnosticSink

    /// The valid groups of `text` (invalid ones are reported and left out).
    func parse(_ text: String) -> [RuleGroup] {
        let root: Node?
        switch YAMLDocument.compose(text, file: file) {
        case .success(let node): root = node
        case .failure(let error):
            sink.report(error)
            return []
        }
        guard let root, !root.isNull else { return [] }
        let scope = YAMLScope(file: file, sink: sink)
        guard let top = scope.mapping(root, allowed: ["groups"], what: "rule file"),
            let groupNodes = top.value("groups").flatMap({ scope.sequence($0, what: "groups") })
        else { return [] }
        var groups: [RuleGroup] = []
        var seen: [String: Int] = [:]
        for node in groupNodes {
            guard let group = parseGroup(node, scope: scope) else { continue }
            if let line = seen[group.name] {
                scope.report(
                    .duplicate, at: node,
                    "groupname: \(group.name.goQuoted) is repeated in the same file (first on line \(line))")
                continue
            }
            seen[group.name] = node.line
            groups.append(group)
        }
        return groups
    }

    private func parseGroup(_ node: Node, scope: YAMLScope) -> RuleGroup? {
        let errorsBefore = sink.errors.count
        guard let fields = scope.mapping(node, allowed: ["name", "interval", "limit", "rules"], what: "group")
        else { return nil }
        var scope = scope
        let name = fields.value("name").flatMap { scope.string($0, what: "name") } ?? ""
        if name.isEmpty {
            scope.report(.missingField, at: node, "groupname must not be empty")
        } else {
            scope.group = name
        }
        let interval = fields.value("interval").flatMap { scope.duration($0, what: "interval") }
        let limit = fields.value("limit").flatMap { scope.count($0, what: "limit") } ?? 0
        var rules: [Rule] = []
        let ruleNodes = fields.value("rules").flatMap { scope.sequence($0, what: "rules") } ?? []
        for (index, ruleNode) in ruleNodes.enumerated() {
            if let rule = RuleParser(scope: scope, index: index).parse(ruleNode) { rules.append(rule) }
        }
        guard sink.errors.count == errorsBefore else { return nil }
        return RuleGroup(
            name: name, file: file, interval: interval?.milliseconds == 0 ? nil : interval, limit: limit, rules: rules,
            line: node.line)
    }
}
