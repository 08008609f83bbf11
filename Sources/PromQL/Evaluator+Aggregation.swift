extension Evaluator {
    /// Aggregates samples per group: `by` keeps only the listed labels, `without` removes them and
    /// the metric name, no clause makes one group without labels.
    static func aggregate(_ samples: [Sample], _ op: AggregationOperator, _ grouping: Grouping?) -> [Sample] {
        var groups: [Labels: Aggregator] = [:]
        var order: [Labels] = []
        for sample in samples {
            let key = grouping?.groupLabels(of: sample.labels) ?? .empty
            if groups[key]?.add(sample.value) == nil {
                groups[key] = Aggregator(op, first: sample.value)
                order.append(key)
            }
        }
        return order.map { Sample(labels: $0, value: groups[$0]!.result) }
    }
}
