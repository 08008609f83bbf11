/// A binary operator of the subset, with Prometheus's precedence.
public enum BinaryOperator: String, Hashable, Sendable, CaseIterable {
    /// `+`
    case add = "+"
    /// `-`
    case subtract = "-"
    /// `*`
    case multiply = "*"
    /// `/`
    case divide = "/"
    /// `%` (Go's `math.Mod`: the result has the sign of the dividend)
    case modulo = "%"
    /// `^` (right-associative)
    case power = "^"
    /// `==`
    case equal = "=="
    /// `!=`
    case notEqual = "!="
    /// `>`
    case greater = ">"
    /// `<`
    case less = "<"
    /// `>=`
    case greaterOrEqual = ">="
    /// `<=`
    case lessOrEqual = "<="
    /// `and`: left-hand samples that have a match on the right.
    case and
    /// `or`: all left-hand samples plus right-hand ones without a match on the left.
    case or
    /// `unless`: left-hand samples without a match on the right.
    case unless

    /// How tightly the operator binds: `or` 1, `and unless` 2, comparisons 3, `+ -` 4, `* / %` 5, `^` 6.
    public var precedence: Int {
        switch self {
        case .or: 1
        case .and, .unless: 2
        case .equal, .notEqual, .greater, .less, .greaterOrEqual, .lessOrEqual: 3
        case .add, .subtract: 4
        case .multiply, .divide, .modulo: 5
        case .power: 6
        }
    }

    /// Whether `a op b op c` groups as `a op (b op c)` (only `^`).
    public var isRightAssociative: Bool { self == .power }

    /// Whether this is one of `== != > < >= <=`.
    public var isComparison: Bool { precedence == 3 }

    /// Whether this is one of `and or unless`.
    public var isSetOperator: Bool { precedence <= 2 }

    /// Whether this is one of `+ - * / % ^`, which drop the metric name of vector samples.
    public var isArithmetic: Bool { precedence >= 4 }
}
