extension Evaluator {
    /// One-to-one matching of two vectors for arithmetic and comparisons, as Prometheus's
    /// `VectorBinop`: samples pair up by their matching labels; the right side must have at most one
    /// sample per match group, and each group may produce at most one result.
    /// With `keeping` the results have only those of their labels (none: ``Labels/empty``), for a caller that reads
    /// no others.
    static func oneToOne(
        _ node: BinaryExpr, _ lhs: [Sample], _ rhs: [Sample], keeping: [String]? = nil
    ) throws(PromQLError) -> [Sample] {
        guard !lhs.isEmpty, !rhs.isEmpty else { return [] }
        let matching = node.effectiveMatching
        var result: [Sample] = []
        result.reserveCapacity(min(lhs.count, rhs.count))
        var kept = resultLayouts(node, matching, keeping: keeping)
        let unlabelled = keeping?.isEmpty == true
        // A caller reading only some labels gets few distinct label sets: each built once.
        var shared = keeping == nil || unlabelled ? nil : SharedLabels()
        // Each right sample by its signature, found in place (see `LabelSubset`): a signature's labels are built only
        // for an error message. Entry i is rhs[i], since a second sample of one signature is an error.
        var right = SubsetTable(matching.subset, capacity: rhs.count)
        for sample in rhs {
            let (entry, inserted) = right.insert(sample.labels)
            guard inserted else {
                let signature = matching.signature(of: sample.labels)
                let duplicate = rhs[entry]
                throw PromQLError(
                    .execution,
                    "found duplicate series for the match group \(signature) on the right hand-side of the operation: "
                        + "[\(sample.labels), \(duplicate.labels)];many-to-many matching not allowed: "
                        + "matching labels must be unique on one side",
                    at: node.operatorPosition)
            }
        }
        // A match group is its right sample: whether it produced a result yet.
        var matched = [Bool](repeating: false, count: rhs.count)
        for l in lhs.indices {
            // By index: a `for` over the samples copies each one, retaining its labels.
            guard let i = right.find(lhs[l].labels) else { continue }
            var (value, keep) = apply(node.op, lhs[l].value, rhs[i].value)
            if node.returnsBool {
                value = keep ? 1 : 0
            } else if !keep {
                continue
            }
            guard !matched[i] else {
                throw PromQLError(
                    .execution,
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    at: node.operatorPosition)
            }
            matched[i] = true
            let labels = unlabelled ? .empty : resultLabels(lhs[l].labels, &kept, &shared)
            result.append(Sample(labels: labels, value: value))
        }
        return result
    }

    /// Where a result's labels lie in the left sample's: its labels without the metric name for arithmetic and
    /// `bool`, reduced to the `on` labels or without the `ignoring` labels. Found once per layout of the left
    /// samples' names (comparing names per sample was a third of building the results).
    private static func resultLayouts(_ node: BinaryExpr, _ matching: VectorMatching, keeping: [String]?)
        -> LabelLayouts
    {
        let dropName = node.op.isArithmetic || node.returnsBool
        let listed = matching.mode == .on
        let names = matching.labels
        return LabelLayouts { pairs in
            pairs.indices.filter {
                !(dropName && pairs[$0].name == Labels.metricName) && names.contains(pairs[$0].name) == listed
                    && keeping.map { [name = pairs[$0].name] in $0.contains(name) } ?? true
            }
        }
    }

    /// The labels of `labels` at the positions `layouts` picks: the labels themselves when every pair stays; from
    /// `shared` when given (built there once per distinct set).
    private static func resultLabels(_ labels: Labels, _ layouts: inout LabelLayouts, _ shared: inout SharedLabels?)
        -> Labels
    {
        labels.pairs.withUnsafeBufferPointer { pairs in
            let layout = layouts.layout(of: pairs)  // before reading the positions: it may add them
            let kept = layouts.positions(layout)
            guard kept.count < pairs.count else { return labels }
            func build() -> Labels {
                Labels(
                    sorted: [Label](unsafeUninitializedCapacity: kept.count) { buffer, count in
                        for p in kept {
                            (buffer.baseAddress! + count).initialize(to: pairs[p])
                            count += 1
                        }
                    })
            }
            return shared?.labels(pairs, at: kept, otherwise: build) ?? build()
        }
    }

    /// `and`, `or`, `unless` (many-to-many), keeping the samples' own labels and values.
    static func setOperation(
        _ op: BinaryOperator, _ lhs: [Sample], _ rhs: [Sample], _ matching: VectorMatching
    ) -> [Sample] {
        switch op {
        case .and:
            guard !lhs.isEmpty, !rhs.isEmpty else { return [] }
            var right = table(matching.subset, rhs)
            return lhs.filter { right.find($0.labels) != nil }
        case .unless:
            guard !lhs.isEmpty, !rhs.isEmpty else { return lhs }
            var right = table(matching.subset, rhs)
            return lhs.filter { right.find($0.labels) == nil }
        default:
            guard !lhs.isEmpty else { return rhs }
            guard !rhs.isEmpty else { return lhs }
            var left = table(matching.subset, lhs)
            return lhs + rhs.filter { left.find($0.labels) == nil }
        }
    }

    /// The distinct subsets of `samples`' labels.
    private static func table(_ subset: LabelSubset, _ samples: [Sample]) -> SubsetTable {
        var table = SubsetTable(subset, capacity: samples.count)
        for sample in samples { _ = table.insert(sample.labels) }
        return table
    }
}
