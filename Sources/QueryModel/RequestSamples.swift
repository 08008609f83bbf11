import Collector
import OpsightMetrics
import PromQL

/// The samples of one per-series request family (`opsight_request_latency_seconds`, `opsight_request_rate`,
/// `opsight_request_error_ratio`) in one window, built directly in label order.
///
/// The general build (``WindowFamilies`` into a ``SampleList``, a `Labels` from each sample's pairs, then a sort of
/// the `Labels`) cost most of a query's time whenever the window changed, which under live ingest is several times a
/// second: at 10 000 series, ~130 000 comparisons of label sets a sort. Here each sample's labels are laid out already
/// sorted by name (`__name__`, `method`, `quantile`, `route`, `service`, `window`), so the label order is the order of
/// (method, quantile text, route, service); the series are sorted by (method, route, service) — or, after an earlier
/// build, taken in that build's order with only the series new since then sorted and merged in.
///
/// Only when no label value is empty (an empty value is an absent label, which changes the layout): otherwise
/// ``build(name:windowMs:data:quantiles:previousOrder:)`` returns nil and the general build runs.
struct RequestSamples {
    /// Names of the families this builds.
    static let names: Set<String> = [
        "opsight_request_latency_seconds", "opsight_request_rate", "opsight_request_error_ratio",
    ]

    /// The samples and the order of the series they were built in.
    struct Built {
        var samples: [Sample]
        var order: [RequestKey]
    }

    /// The samples of family `name` (one of ``names``) over `data`'s request series (and `tail`'s: see below) in
    /// window `windowMs`, in label order; `previousOrder` is the series order of the last build, reused when the
    /// series are the same.
    static func build(
        name: String, windowMs: Int64, data: WindowData, tail: WindowData? = nil, quantiles: [Double],
        previousOrder: [RequestKey]?
    ) -> Built? {
        var none: LabelCache? = nil
        return build(
            name: name, windowMs: windowMs, data: data, tail: tail, quantiles: quantiles, previousOrder: previousOrder,
            labelCache: &none)
    }

    /// The labels of each series (per quantile, in the build's quantile order) built for one family, window and
    /// quantiles: the steps of a range query build the same series' labels again and again.
    typealias LabelCache = [RequestKey: [Labels?]]

    /// ``build(name:windowMs:data:quantiles:previousOrder:)``, taking each series' labels from `labelCache` when it
    /// holds them and keeping those it builds there (when it is not nil).
    ///
    /// With a `tail`, the window is `data` + `tail` (a long window's two cached parts, ``MetricsReader/LongParts``),
    /// built without summing them: each series' counts added, its quantiles walked over both sketches at once. Summing
    /// a day of 10 000 series into a copy for every new version of the tail (each commit) cost more than the build.
    static func build(
        name: String, windowMs: Int64, data: WindowData, tail: WindowData? = nil, quantiles: [Double],
        previousOrder: [RequestKey]?, labelCache: inout LabelCache?
    ) -> Built? {
        let requests = data.requests
        let tailRequests = tail?.requests ?? [:]
        // The series of the tail that are not in `data`: the window holds `requests.count` + these.
        let tailOnly = tailRequests.keys.filter { requests[$0] == nil }
        let count = requests.count + tailOnly.count
        func holds(_ k: RequestKey) -> Bool { requests[k] != nil || tailRequests[k] != nil }
        func before(_ a: RequestKey, _ b: RequestKey) -> Bool { (a.method, a.route, a.service) < (b.method, b.route, b.service) }
        func unlabelled(_ k: RequestKey) -> Bool { k.service.isEmpty || k.route.isEmpty || k.method.isEmpty }
        var order: [RequestKey]
        if let previousOrder, previousOrder.count == count, previousOrder.allSatisfy(holds) {
            // As many series as before and every one of them still here: the same set, so the same order.
            order = previousOrder
        } else if let previousOrder {
            // The series still here keep their order; only those that are new are sorted, and merged in. From one
            // change of a window (or one step of a range) to the next most series stay.
            order = previousOrder.filter(holds)
            if order.count < count {
                let kept = Set(order)
                let new = (requests.keys + tailOnly).filter { !kept.contains($0) }
                guard !new.contains(where: unlabelled) else { return nil }
                order = Self.merged(order, new.sorted(by: before), by: before)
            }
        } else {
            let all = requests.keys + tailOnly
            guard !all.contains(where: unlabelled) else { return nil }
            order = all.sorted(by: before)
        }
        let window = PromDuration.format(windowMs)
        let nameLabel = Label(name: Labels.metricName, value: name)
        let windowLabel = Label(name: "window", value: window)
        var samples: [Sample] = []
        let slots = name == "opsight_request_latency_seconds" ? quantiles.count : 1
        func labels(_ k: RequestKey, quantile: Label?, slot: Int) -> Labels {
            if let kept = labelCache?[k]?[slot] { return kept }
            var pairs = [nameLabel, Label(name: "method", value: k.method)]
            pairs.reserveCapacity(6)
            if let quantile { pairs.append(quantile) }
            pairs.append(Label(name: "route", value: k.route))
            pairs.append(Label(name: "service", value: k.service))
            pairs.append(windowLabel)
            let built = Labels(sortedPairs: pairs)
            if labelCache != nil { labelCache![k, default: Array(repeating: nil, count: slots)][slot] = built }
            return built
        }
        func append(_ k: RequestKey, _ value: Double, quantile: Label? = nil, slot: Int = 0) {
            // Non-finite values are no sample, as in the exposition (an empty window has no ratio).
            guard value.isFinite else { return }
            samples.append(Sample(labels: labels(k, quantile: quantile, slot: slot), value: value))
        }
        // A series' requests and errors in the window (both parts).
        func counts(_ k: RequestKey) -> (requests: UInt64, errors: UInt64) {
            let (c, t) = (requests[k], tailRequests[k])
            return ((c?.count ?? 0) &+ (t?.count ?? 0), (c?.errors ?? 0) &+ (t?.errors ?? 0))
        }
        switch name {
        case "opsight_request_rate":
            samples.reserveCapacity(order.count)
            let seconds = Double(windowMs) / 1000
            for k in order { append(k, Double(counts(k).requests) / seconds) }
        case "opsight_request_error_ratio":
            samples.reserveCapacity(order.count)
            // As ``RequestStats/errorRatio`` of the parts merged: none for a series without requests.
            for k in order {
                let (n, errors) = counts(k)
                append(k, n == 0 ? .nan : Double(errors) / Double(n))
            }
        case "opsight_request_latency_seconds":
            // Label order is method, then the quantile's text, then route and service: each method's series once per
            // quantile, the quantiles in the order of their text.
            let qs = quantiles.map { (q: $0, label: Label(name: "quantile", value: PrometheusText.format($0))) }
                .sorted { $0.label.value < $1.label.value }
            // Duplicate quantiles would be one label set twice; the general build keeps that case.
            guard Set(qs.map(\.label.value)).count == qs.count else { return nil }
            samples.reserveCapacity(order.count * qs.count)
            let inLabelOrder = qs.map(\.q)
            let empty = LogSketch()
            // Each series' quantiles in one walk of its sketch (of both parts' sketches), kept for the method's
            // series: the samples go quantile by quantile. NaN where the series has no latency.
            var values: [Double] = []
            var table: [Double] = []
            var start = 0
            while start < order.count {
                var end = start + 1
                while end < order.count, order[end].method == order[start].method { end += 1 }
                table.removeAll(keepingCapacity: true)
                for k in order[start..<end] {
                    LogSketch.quantiles(
                        of: requests[k]?.latency ?? empty, and: tailRequests[k]?.latency ?? empty, inLabelOrder,
                        into: &values)
                    table += values
                }
                for (slot, label) in qs.map(\.label).enumerated() {
                    for (i, k) in order[start..<end].enumerated() {
                        let v = table[i * qs.count + slot]
                        guard !v.isNaN else { continue }
                        append(k, v / 1000, quantile: label, slot: slot)
                    }
                }
                start = end
            }
        default:
            return nil
        }
        return Built(samples: samples, order: order)
    }

    /// The two sorted lists as one sorted list.
    static func merged(_ a: [RequestKey], _ b: [RequestKey], by before: (RequestKey, RequestKey) -> Bool) -> [RequestKey] {
        var out: [RequestKey] = []
        out.reserveCapacity(a.count + b.count)
        var (i, j) = (0, 0)
        while i < a.count && j < b.count {
            if before(b[j], a[i]) {
                out.append(b[j])
                j += 1
            } else {
                out.append(a[i])
                i += 1
            }
        }
        out += a[i...]
        out += b[j...]
        return out
    }
}
