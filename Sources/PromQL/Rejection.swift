/// The messages for valid PromQL that lies outside Opsight's subset, each naming the construct
/// and saying what to write instead.
enum Rejection {
    /// Where windowed values come from in Opsight.
    static let windowHint = #"use the window label, e.g. opsight_request_error_ratio{window="5m"}"#
    static let supportedFunctions = "abs, absent, clamp_min, clamp_max"
    static let supportedAggregations = "sum, min, max, avg, count"

    static let rangeVector = "range vectors are not supported: " + windowHint
    static let subquery = "subqueries are not supported: " + windowHint
    static let offset = "offset modifiers are not supported: evaluate at an earlier time with the query's time instead"
    static let at = "@ modifiers are not supported: evaluate at another time with the query's time instead"
    static let atan2 = "operator 'atan2' is not supported (supported: + - * / % ^ == != > < >= <= and or unless)"
    static let stringLiteral = "string literals are only supported as label matcher values"

    /// `group_left` / `group_right`.
    static func groupModifier(_ keyword: String) -> String {
        "\(keyword) (many-to-one matching) is not supported: only one-to-one matching, with on(...) or ignoring(...)"
    }

    /// `topk`, `quantile`, `stddev` …
    static func aggregation(_ name: String) -> String {
        "aggregation '\(name)' is not supported (supported: \(supportedAggregations))"
    }

    /// Any function but the supported four.
    static func function(_ name: String) -> String {
        guard prometheusFunctions.contains(name) || name.hasSuffix("_over_time") else {
            return "unknown function '\(name)' (supported: \(supportedFunctions))"
        }
        let base = "function '\(name)' is not supported (supported: \(supportedFunctions))"
        if ["rate", "irate", "increase"].contains(name) {
            return base + "; Opsight's series are already windowed: "
                + #"use the window label, e.g. opsight_request_rate{window="5m"}"#
        }
        if name == "histogram_quantile" {
            return base + "; latency series are already quantiles: use the quantile label, "
                + #"e.g. opsight_request_latency_seconds{quantile="0.95",window="5m"}"#
        }
        if rangeFunctions.contains(name) || name.hasSuffix("_over_time") {
            return base + "; Opsight's series are already windowed: " + windowHint
        }
        return base
    }

    /// Prometheus functions that take a range vector (besides `*_over_time`).
    static let rangeFunctions: Set<String> = [
        "changes", "delta", "deriv", "double_exponential_smoothing", "holt_winters", "idelta", "increase", "irate",
        "predict_linear", "rate", "resets",
    ]

    /// Prometheus's other functions, so that their names are "not supported" rather than "unknown".
    static let prometheusFunctions: Set<String> = rangeFunctions.union([
        "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "clamp", "cos", "cosh", "day_of_month",
        "day_of_week", "day_of_year", "days_in_month", "deg", "exp", "floor", "histogram_avg", "histogram_count",
        "histogram_fraction", "histogram_quantile", "histogram_stddev", "histogram_stdvar", "histogram_sum", "hour",
        "info", "label_join", "label_replace", "ln", "log10", "log2", "minute", "month", "pi", "rad", "round",
        "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt", "tan",
        "tanh", "time", "timestamp", "vector", "year",
    ])

    /// Prometheus's aggregations outside the subset.
    static let otherAggregations: Set<String> = [
        "bottomk", "count_values", "group", "limit_ratio", "limitk", "quantile", "stddev", "stdvar", "topk",
    ]
}
