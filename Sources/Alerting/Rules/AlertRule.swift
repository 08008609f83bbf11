import PromQL

/// An alerting rule as written in a rule file: `alert`, `expr`, `for`, `keep_firing_for`, `labels`,
/// `annotations`.
public struct AlertRule: Hashable, Sendable {
    /// The alert name (`alertname` label of its alerts).
    public var name: String
    /// The parsed condition.
    public var expression: Expr
    /// How long the condition must hold before an alert fires (`for`).
    public var holdDuration: PromDuration
    /// How long a firing alert keeps firing after the condition clears (`keep_firing_for`).
    public var keepFiringFor: PromDuration
    /// Labels added to each alert, sorted by name; values are templates.
    public var labels: [TemplatedLabel]
    /// Annotations of each alert, sorted by name; values are templates.
    public var annotations: [TemplatedLabel]
    /// The line of the rule in its file.
    public var line: Int

    /// Creates a rule.
    public init(
        name: String, expression: Expr, holdDuration: PromDuration = .zero, keepFiringFor: PromDuration = .zero,
        labels: [TemplatedLabel] = [], annotations: [TemplatedLabel] = [], line: Int = 0
    ) {
        self.name = name
        self.expression = expression
        self.holdDuration = holdDuration
        self.keepFiringFor = keepFiringFor
        self.labels = labels.sorted { $0.name < $1.name }
        self.annotations = annotations.sorted { $0.name < $1.name }
        self.line = line
    }

    /// The expression in Prometheus's canonical form, as used in `generatorURL`.
    public var query: String { expression.description }
}
