/// A swift-metrics series: its label and dimensions, as the factory's cache key.
struct MetricSeries: Hashable, Sendable {
    /// The metric's label.
    var label: String
    /// The dimensions in the order given.
    var dimensions: [Dimension]

    /// One dimension (tuples cannot be `Hashable`).
    struct Dimension: Hashable, Sendable {
        var name: String
        var value: String
    }

    /// Creates the key of a metric.
    init(label: String, dimensions: [(String, String)]) {
        self.label = label
        self.dimensions = dimensions.map { Dimension(name: $0.0, value: $0.1) }
    }

    /// The value of the first dimension named any of `names`.
    func value(_ names: [String]) -> String? {
        for dimension in dimensions where names.contains(dimension.name) { return dimension.value }
        return nil
    }

    /// The dimensions not named in `used`, as event fields.
    func fields(excluding used: [String]) -> [String: FieldValue] {
        var fields: [String: FieldValue] = [:]
        for dimension in dimensions where !used.contains(dimension.name) {
            fields[dimension.name] = .string(dimension.value)
        }
        return fields
    }
}
