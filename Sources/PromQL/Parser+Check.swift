extension Parser {
    /// Prometheus's static checks of a binary expression, pointing at the operator; returns the node
    /// with a label-less `on()` / `ignoring()` dropped when an operand is a scalar, as Prometheus does.
    static func check(_ node: BinaryExpr) throws(PromQLError) -> BinaryExpr {
        let at = node.operatorPosition
        let op = node.op.rawValue
        if node.returnsBool && !node.op.isComparison {
            throw PromQLError(.invalid, "bool modifier can only be used on comparison operators", at: at)
        }
        let hasScalar = node.lhs.type == .scalar || node.rhs.type == .scalar
        if node.op.isComparison && !node.returnsBool && node.lhs.type == .scalar && node.rhs.type == .scalar {
            throw PromQLError(.invalid, "comparisons between scalars must use BOOL modifier", at: at)
        }
        if node.op.isSetOperator && hasScalar {
            throw PromQLError(.invalid, "set operator \"\(op)\" not allowed in binary scalar expression", at: at)
        }
        if hasScalar, let matching = node.matching, !matching.labels.isEmpty {
            throw PromQLError(.invalid, "vector matching only allowed between instant vectors", at: at)
        }
        var checked = node
        if hasScalar { checked.matching = nil }
        return checked
    }
}
