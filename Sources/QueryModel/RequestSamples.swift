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
/// (method, quantile text, route, service); the series are sorted by (method, route, service) — or, when the window
/// holds the same series as the last build, taken in that build's order without comparing anything.
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

    /// The samples of family `name` (one of ``names``) over `data`'s request series in window `windowMs`, in label
    /// order; `previousOrder` is the series order of the last build, reused when the series are the same.
    static func build(
        name: String, windowMs: Int64, data: WindowData, quantiles: [Double], previousOrder: [RequestKey]?
    ) -> Built? {
        let requests = data.requests
        let order: [RequestKey]
        if let previousOrder, previousOrder.count == requests.count,
            previousOrder.allSatisfy({ requests[$0] != nil })
        {
            // As many series as before and every one of them still here: the same set, so the same order.
            order = previousOrder
        } else {
            guard !requests.keys.contains(where: { $0.service.isEmpty || $0.route.isEmpty || $0.method.isEmpty })
            else { return nil }
            order = requests.keys.sorted { ($0.method, $0.route, $0.service) < ($1.method, $1.route, $1.service) }
        }
        let window = PromDuration.format(windowMs)
        let nameLabel = Label(name: Labels.metricName, value: name)
        let windowLabel = Label(name: "window", value: window)
        var samples: [Sample] = []
        func labels(_ k: RequestKey, quantile: Label?) -> Labels {
            var pairs = [nameLabel, Label(name: "method", value: k.method)]
            pairs.reserveCapacity(6)
            if let quantile { pairs.append(quantile) }
            pairs.append(Label(name: "route", value: k.route))
            pairs.append(Label(name: "service", value: k.service))
            pairs.append(windowLabel)
            return Labels(sortedPairs: pairs)
        }
        func append(_ k: RequestKey, _ value: Double, quantile: Label? = nil) {
            // Non-finite values are no sample, as in the exposition (an empty window has no ratio).
            guard value.isFinite else { return }
            samples.append(Sample(labels: labels(k, quantile: quantile), value: value))
        }
        switch name {
        case "opsight_request_rate":
            samples.reserveCapacity(order.count)
            let seconds = Double(windowMs) / 1000
            for k in order { append(k, Double(requests[k]!.count) / seconds) }
        case "opsight_request_error_ratio":
            samples.reserveCapacity(order.count)
            for k in order { append(k, requests[k]!.errorRatio ?? .nan) }
        case "opsight_request_latency_seconds":
            // Label order is method, then the quantile's text, then route and service: each method's series once per
            // quantile, the quantiles in the order of their text.
            let qs = quantiles.map { (q: $0, label: Label(name: "quantile", value: PrometheusText.format($0))) }
                .sorted { $0.label.value < $1.label.value }
            // Duplicate quantiles would be one label set twice; the general build keeps that case.
            guard Set(qs.map(\.label.value)).count == qs.count else { return nil }
            samples.reserveCapacity(order.count * qs.count)
            var start = 0
            while start < order.count {
                var end = start + 1
                while end < order.count, order[end].method == order[start].method { end += 1 }
                for (q, label) in qs {
                    for k in order[start..<end] {
                        guard let v = requests[k]!.latency.quantile(q) else { continue }
                        append(k, v / 1000, quantile: label)
                    }
                }
                start = end
            }
        default:
            return nil
        }
        return Built(samples: samples, order: order)
    }
}
