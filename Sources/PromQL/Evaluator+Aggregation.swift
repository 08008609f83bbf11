extension Evaluator {
    /// Aggregates samples per group: `by` keeps only the listed labels, `without` removes them and
    /// the metric name, no clause makes one group without labels.
    static func aggregate(_ samples: [Sample], _ op: AggregationOperator, _ grouping: Grouping?) -> [Sample] {
        // Groups are found by a key of the labels (see `LabelKey`); each group's labels are built once, when it
        // first appears, not once per sample.
        var index: [LabelKey: Int] = [:]
        var groups: [(labels: Labels, aggregator: Aggregator)] = []
        for sample in samples {
            let key = grouping?.key(of: sample.labels) ?? .values([])
            if let i = index[key] {
                groups[i].aggregator.add(sample.value)
            } else {
                index[key] = groups.count
                groups.append((grouping?.groupLabels(of: sample.labels) ?? .empty, Aggregator(op, first: sample.value)))
            }
        }
        return groups.map { Sample(labels: $0.labels, value: $0.aggregator.result) }
    }
}
