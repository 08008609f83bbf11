extension Expr: CustomStringConvertible {
    /// The expression in Prometheus's canonical form, e.g. `sum by (service) (x{window="5m"}) > 0.05`;
    /// parsing it again gives the same expression.
    public var description: String {
        switch self {
        case .number(let node):
            FloatFormat.prometheus(node.value)
        case .selector(let node):
            (node.metricName ?? "")
                + (node.matchers.isEmpty && node.metricName != nil
                    ? "" : "{" + node.matchers.map(\.description).joined(separator: ",") + "}")
        case .unary(let node):
            node.op.rawValue + node.operand.description
        case .binary(let node):
            "\(node.lhs) \(node.op.rawValue)\(node.returnsBool ? " bool" : "")\(Self.clause(node.matching)) \(node.rhs)"
        case .aggregation(let node):
            node.op.rawValue + Self.clause(node.grouping) + "(\(node.argument))"
        case .call(let node):
            node.function.rawValue + "(" + node.arguments.map(\.description).joined(separator: ", ") + ")"
        case .paren(let node):
            "(\(node.inner))"
        }
    }

    private static func clause(_ matching: VectorMatching?) -> String {
        guard let matching, matching.mode == .on || !matching.labels.isEmpty else { return "" }
        return " \(matching.mode.rawValue) (\(matching.labels.joined(separator: ", ")))"
    }

    private static func clause(_ grouping: Grouping?) -> String {
        guard let grouping, grouping.mode == .without || !grouping.labels.isEmpty else { return "" }
        return " \(grouping.mode.rawValue) (\(grouping.labels.joined(separator: ", "))) "
    }
}
