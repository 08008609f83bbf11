/// A stand-in for a subset of a series' labels (a match signature, an aggregation group) that is equal for two series
/// exactly when their subsets are, cheaper to build and hash than the subset's `Labels`.
///
/// When the subset is a fixed list of names (`on(...)`, `by (...)`) it is the values of those names, nil where a
/// series has none: `Labels` never hold an empty value, so the same values are the same name–value pairs. Otherwise
/// (`ignoring`, `without`) it is the subset itself.
enum LabelKey: Hashable {
    case values([String?])
    case labels(Labels)

    /// The key of `labels` restricted to `names`.
    static func keeping(_ names: [String], of labels: Labels) -> LabelKey {
        .values(names.map { labels[$0] })
    }
}
