import PromQL

/// A node of the routing tree with its options resolved (inherited from the parent when not set),
/// as Alertmanager's `dispatch.Route`.
public struct Route: Hashable, Sendable {
    /// The receiver notified for alerts routed here.
    public var receiver: String
    /// Labels that split alerts into groups (sorted); ignored when `groupByAll`.
    public var groupBy: [String]
    /// `group_by: ['...']`: every label set is its own group.
    public var groupByAll: Bool
    /// Wait before the first notification of a new group.
    public var groupWait: PromDuration
    /// Wait between notifications of a group when something changed.
    public var groupInterval: PromDuration
    /// Wait before re-sending an unchanged firing group.
    public var repeatInterval: PromDuration
    /// Conditions an alert must meet (all of them), sorted as Alertmanager sorts them.
    public var matchers: [LabelMatcher]
    /// Whether matching goes on to the next sibling after this route matched.
    public var continueMatching: Bool
    /// Child routes.
    public var routes: [Route]
    /// Alertmanager's route key: the matchers of the path from the root, e.g. `{}/{severity="critical"}`.
    public var key: String
    /// The key plus the position among siblings: unique in the tree.
    public var id: String

    /// The routes an alert with `labels` goes to: the deepest matching ones, with `continue`
    /// allowing several siblings; the route itself when no child matches; none when it does not match.
    public func match(_ labels: Labels) -> [Route] {
        guard matchers.allSatisfy({ $0.matches(labels) }) else { return [] }
        var matched: [Route] = []
        for child in routes {
            let found = child.match(labels)
            matched += found
            if !found.isEmpty && !child.continueMatching { break }
        }
        return matched.isEmpty ? [self] : matched
    }

    /// The labels of `labels` that form its group on this route.
    public func groupLabels(of labels: Labels) -> Labels {
        groupByAll ? labels : labels.keeping(names: groupBy)
    }

    /// Every route of the tree, depth first.
    public var allRoutes: [Route] { [self] + routes.flatMap(\.allRoutes) }

    /// Alertmanager's text of a matcher list: `{a="b",c=~"d"}`.
    static func text(of matchers: [LabelMatcher]) -> String {
        "{" + matchers.map(\.description).joined(separator: ",") + "}"
    }

    /// Alertmanager's order of matchers: by name, then value, then operator.
    static func sorted(_ matchers: [LabelMatcher]) -> [LabelMatcher] {
        let order: [LabelMatcher.Operator] = [.equal, .notEqual, .regexMatch, .regexNoMatch]
        return matchers.sorted {
            if $0.name != $1.name { return $0.name < $1.name }
            if $0.value != $1.value { return $0.value < $1.value }
            return order.firstIndex(of: $0.op)! < order.firstIndex(of: $1.op)!
        }
    }
}
