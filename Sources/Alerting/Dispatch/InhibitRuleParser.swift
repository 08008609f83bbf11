import Yams

/// Parses `inhibit_rules`.
struct InhibitRuleParser {
    /// Where errors go.
    let scope: YAMLScope

    private static let keys = [
        "source_matchers", "target_matchers", "source_match", "source_match_re", "target_match", "target_match_re",
        "equal",
    ]

    /// Every valid rule of the list.
    func parseList(_ node: Node) -> [InhibitRule] {
        guard let items = scope.sequence(node, what: "inhibit_rules") else { return [] }
        return items.compactMap(parse)
    }

    private func parse(_ node: Node) -> InhibitRule? {
        guard let fields = scope.mapping(node, allowed: Self.keys, what: "inhibit rule") else { return nil }
        let matchers = MatcherFields(scope: scope)
        let source = matchers.matchers(
            fields, key: "source_matchers", legacyEqual: "source_match", legacyRegex: "source_match_re")
        let target = matchers.matchers(
            fields, key: "target_matchers", legacyEqual: "target_match", legacyRegex: "target_match_re")
        var equal: [String] = []
        if let node = fields.value("equal"), let labels = scope.strings(node, what: "equal") {
            for label in labels where !LabelName.isValid(label) {
                scope.report(.invalidValue, at: node, "invalid label name \(label.goQuoted) in equal")
            }
            equal = labels
        }
        return InhibitRule(sourceMatchers: source, targetMatchers: target, equal: equal)
    }
}
