/// What a template executes over: dot, variables, and the external URL.
public struct TemplateData: Sendable, Hashable {
    /// The value of `.`.
    public var dot: TemplateValue
    /// Predefined variables (`$labels` …), names including the `$`.
    public var variables: [String: TemplateValue]
    /// The external URL, for `externalURL` and `pathPrefix`.
    public var externalURL: String

    /// Creates data.
    public init(dot: TemplateValue, variables: [String: TemplateValue] = [:], externalURL: String = "") {
        self.dot = dot
        self.variables = variables
        self.externalURL = externalURL
    }

    /// The data of an alert's labels and annotations, as Prometheus's `AlertTemplateData` plus the
    /// variables it prepends: `.Labels`/`$labels`, `.ExternalLabels`/`$externalLabels`,
    /// `.ExternalURL`/`$externalURL`, `.Value`/`$value`.
    public static func alert(
        labels: [String: String], value: Double, externalLabels: [String: String] = [:], externalURL: String = ""
    ) -> TemplateData {
        let dot = TemplateValue.object([
            "Labels": .labels(labels), "ExternalLabels": .labels(externalLabels), "ExternalURL": .string(externalURL),
            "Value": .float(value),
        ])
        return TemplateData(
            dot: dot,
            variables: [
                "$labels": .labels(labels), "$externalLabels": .labels(externalLabels),
                "$externalURL": .string(externalURL), "$value": .float(value),
            ],
            externalURL: externalURL)
    }
}
