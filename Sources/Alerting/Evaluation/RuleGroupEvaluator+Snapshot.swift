extension RuleGroupEvaluator {
    /// The alert state of this group's alerting rules, for `AlertStateSnapshot`.
    public var snapshotEntries: [AlertStateSnapshot.Entry] {
        alertingRules.sorted { $0.key < $1.key }.map { index, rule in
            AlertStateSnapshot.Entry(group: group.key, rule: rule.rule.name, index: index, alerts: rule.alerts)
        }
    }

    /// Restores alert states from `snapshot`: each rule takes the alerts saved for the rule with
    /// the same group key and name (and index, when a name occurs twice); others are untouched.
    public mutating func restore(from snapshot: AlertStateSnapshot) {
        let entries = snapshot.entries.filter { $0.group == group.key }
        for (index, var rule) in alertingRules {
            let candidates = entries.filter { $0.rule == rule.rule.name }
            guard let entry = candidates.first(where: { $0.index == index }) ?? candidates.first else { continue }
            rule.restore(entry.alerts)
            alertingRules[index] = rule
        }
    }
}
