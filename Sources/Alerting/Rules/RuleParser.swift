import PromQL
import Yams

/// Parses and validates one rule of a group, as Prometheus's `rulefmt` does.
struct RuleParser {
    /// The group's scope.
    var scope: YAMLScope
    /// The rule's 0-based index in its group.
    let index: Int

    private static let keys = ["alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"]

    /// The rule, or `nil` after reporting its problems.
    func parse(_ node: Node) -> Rule? {
        var scope = scope
        scope.rule = "#\(index + 1)"
        if case .mapping(let mapping) = node {
            for key in ["alert", "record"] {
                if let name = mapping[key]?.scalar?.string, !name.isEmpty { scope.rule = name }
            }
        }
        let errorsBefore = scope.sink.errors.count
        guard let fields = scope.mapping(node, allowed: Self.keys, what: "rule") else { return nil }
        let alert = fields.value("alert").flatMap { scope.string($0, what: "alert") } ?? ""
        let record = fields.value("record").flatMap { scope.string($0, what: "record") } ?? ""
        if !alert.isEmpty && !record.isEmpty {
            scope.report(.invalidValue, at: node, "only one of 'record' and 'alert' must be set")
        } else if alert.isEmpty && record.isEmpty {
            scope.report(.missingField, at: node, "one of 'record' or 'alert' must be set")
        }
        let expression = parseExpression(fields, node: node, scope: scope)
        let holdDuration = fields.value("for").flatMap { scope.duration($0, what: "for") } ?? .zero
        let keepFiringFor =
            fields.value("keep_firing_for").flatMap { scope.duration($0, what: "keep_firing_for") } ?? .zero
        let labels = fields.value("labels").flatMap { scope.stringMap($0, what: "labels") } ?? []
        let annotations = fields.value("annotations").flatMap { scope.stringMap($0, what: "annotations") } ?? []
        for label in labels where !LabelName.isValid(label.key) || label.key == "__name__" {
            scope.report(.invalidValue, line: label.line, "invalid label name: \(label.key)")
        }
        for annotation in annotations where !LabelName.isValid(annotation.key) {
            scope.report(.invalidValue, line: annotation.line, "invalid annotation name: \(annotation.key)")
        }
        if !record.isEmpty {
            for key in ["annotations", "for", "keep_firing_for"] {
                guard let entry = fields.entries.first(where: { $0.key == key }) else { continue }
                let isSet =
                    key == "annotations"
                    ? !annotations.isEmpty
                    : (entry.value.isNull ? false : PromDuration(entry.value.scalar?.string ?? "")?.milliseconds != 0)
                if isSet { scope.report(.invalidValue, line: entry.line, "invalid field '\(key)' in recording rule") }
            }
            if !LabelName.isValidMetricName(record) {
                scope.report(.invalidValue, at: fields["record"] ?? node, "invalid recording rule name: \(record)")
            }
        }
        var labelTemplates: [TemplatedLabel] = []
        var annotationTemplates: [TemplatedLabel] = []
        if !alert.isEmpty && record.isEmpty {
            labelTemplates = templates(labels, kind: "label", alert: alert, scope: scope)
            annotationTemplates = templates(annotations, kind: "annotation", alert: alert, scope: scope)
        }
        guard scope.sink.errors.count == errorsBefore, let expression else { return nil }
        if !record.isEmpty {
            let plain = Dictionary(labels.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            return .recording(RecordingRule(name: record, expression: expression, labels: plain, line: node.line))
        }
        return .alerting(
            AlertRule(
                name: alert, expression: expression, holdDuration: holdDuration, keepFiringFor: keepFiringFor,
                labels: labelTemplates, annotations: annotationTemplates, line: node.line))
    }

    /// Parses `expr`, reporting PromQL errors at the file line they are on.
    private func parseExpression(_ fields: YAMLMapping, node: Node, scope: YAMLScope) -> Expr? {
        guard let exprNode = fields.value("expr"), let text = scope.string(exprNode, what: "expr"),
            !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else {
            scope.report(.missingField, at: fields["expr"] ?? node, "field 'expr' must be set in rule")
            return nil
        }
        do {
            return try Parser.parse(text)
        } catch {
            // A block scalar (`|`, `>`) starts on the line after its indicator.
            let isBlock = exprNode.scalar.map { $0.style == .literal || $0.style == .folded } ?? false
            let line = exprNode.line + (isBlock ? 1 : 0) + error.position.line - 1
            scope.report(.expression, line: line, "could not parse expression: \(error)")
            return nil
        }
    }

    /// Parses label or annotation values as templates, reporting those that do not parse.
    private func templates(
        _ pairs: [(key: String, value: String, line: Int)], kind: String, alert: String, scope: YAMLScope
    ) -> [TemplatedLabel] {
        var result: [TemplatedLabel] = []
        for pair in pairs {
            do {
                result.append(
                    TemplatedLabel(name: pair.key, template: try Template(pair.value, name: "__alert_" + alert)))
            } catch {
                scope.report(.template, line: pair.line, "\(kind) \(pair.key.goQuoted): \(error)")
            }
        }
        return result
    }
}
