/// Which template language a text is written in: Prometheus rule templates or Alertmanager
/// notification templates (the same syntax with different functions and variables).
public enum TemplateDialect: Hashable, Sendable {
    /// Rule labels and annotations: `$labels`, `$value`, `$externalLabels`, `$externalURL`,
    /// `humanize` & co.
    case prometheus
    /// Receiver texts (e.g. Slack `title`/`text`) over notification data: `.Status`,
    /// `.CommonLabels`, `.Alerts`, `join` & co.
    case alertmanager

    /// Functions callable in this dialect.
    var functions: Set<String> {
        switch self {
        case .prometheus: TemplateFunctions.builtins.union(TemplateFunctions.prometheus)
        case .alertmanager: TemplateFunctions.builtins.union(TemplateFunctions.alertmanager)
        }
    }

    /// Variables defined before the text (Prometheus prepends `{{$labels := .Labels}}` etc.).
    var variables: Set<String> {
        switch self {
        case .prometheus: ["$labels", "$externalLabels", "$externalURL", "$value"]
        case .alertmanager: []
        }
    }
}
