extension Evaluator {
    /// Aggregates samples per group: `by` keeps only the listed labels, `without` removes them and
    /// the metric name, no clause makes one group without labels.
    static func aggregate(_ samples: [Sample], _ op: AggregationOperator, _ grouping: Grouping?) -> [Sample] {
        // One group without labels (no clause, or `by ()`): no sample's labels are read. Reading them is a reference
        // count on labels that other queries read at the same time, and a cache miss, per sample.
        if grouping == nil || (grouping?.mode == .by && grouping?.labels.isEmpty == true) {
            guard let first = samples.first else { return [] }
            var aggregator = Aggregator(op, first: first.value)
            for i in samples.indices.dropFirst() { aggregator.add(samples[i].value) }
            return [Sample(labels: .empty, value: aggregator.result)]
        }
        // Groups are found in place by their subset of the labels (see `LabelSubset`); each group's labels are built
        // once, when it first appears, not once per sample.
        var table = SubsetTable(grouping?.subset ?? .keeping([]), capacity: min(samples.count, 1024))
        var groups: [(labels: Labels, aggregator: Aggregator)] = []
        for i in samples.indices {
            // By index: a `for` over the samples copies each one, retaining its labels.
            let (group, inserted) = table.insert(samples[i].labels)
            if inserted {
                groups.append(
                    (grouping?.groupLabels(of: samples[i].labels) ?? .empty, Aggregator(op, first: samples[i].value)))
            } else {
                groups[group].aggregator.add(samples[i].value)
            }
        }
        return groups.map { Sample(labels: $0.labels, value: $0.aggregator.result) }
    }
}
