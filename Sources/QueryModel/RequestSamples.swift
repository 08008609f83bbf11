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
    /// quantiles: the steps of a range query build the same series' labels again and again. Laid out by the series'
    /// places in the build's order, so that a step whose series are the last step's (the same order, most steps)
    /// finds them by place, not by hashing each series' key.
    struct LabelCache: Sendable {
        /// The order the labels are laid out in.
        fileprivate var order: [RequestKey] = []
        fileprivate var slots = 0
        /// Series `i`'s labels for quantile slot `s` at `i * slots + s`.
        fileprivate var labels: [Labels?] = []

        /// An empty cache.
        init() {}

        /// The cache laid out for `order` with `slots` labels a series: as it is when `order` is its order (the same
        /// array, or equal), else the labels of the series it holds moved to their new places.
        fileprivate mutating func lay(out order: [RequestKey], slots: Int) {
            if slots == self.slots, order == self.order { return }
            var moved = [Labels?](repeating: nil, count: order.count * slots)
            if slots == self.slots, !self.order.isEmpty {
                var place: [RequestKey: Int] = [:]
                place.reserveCapacity(self.order.count)
                for (i, k) in self.order.enumerated() { place[k] = i }
                for (i, k) in order.enumerated() {
                    guard let old = place[k] else { continue }
                    for s in 0..<slots { moved[i * slots + s] = labels[old * slots + s] }
                }
            }
            self.order = order
            self.slots = slots
            labels = moved
        }
    }

    /// ``build(name:windowMs:data:quantiles:previousOrder:)``, taking each series' labels from `labelCache` when it
    /// holds them and keeping those it builds there (when it is not nil).
    ///
    /// With a `tail`, the window is `data` + `tail` (a long window's two cached parts, ``MetricsReader/LongParts``),
    /// built without summing them: each series' counts added, its quantiles walked over both sketches at once. Summing
    /// a day of 10 000 series into a copy for every new version of the tail (each commit) cost more than the build.
    ///
    /// Each series is looked up once in each part, as a place (`Dictionary.Index`), and its statistics are read there
    /// in place: the first look at a per-series range chart builds 10 000 series at each of 241 steps, and looking
    /// each one up four or five times, copying its statistics (retaining its sketch) at each, was ~40 % of it.
    static func build(
        name: String, windowMs: Int64, data: WindowData, tail: WindowData? = nil, quantiles: [Double],
        previousOrder: [RequestKey]?, labelCache: inout LabelCache?
    ) -> Built? {
        typealias Place = (
            cold: Dictionary<RequestKey, RequestStats>.Index?, tail: Dictionary<RequestKey, RequestStats>.Index?
        )
        let requests = data.requests
        let tailRequests = tail?.requests ?? [:]
        func place(_ k: RequestKey) -> Place {
            (requests.index(forKey: k), tailRequests.isEmpty ? nil : tailRequests.index(forKey: k))
        }
        func holds(_ k: RequestKey) -> Bool {
            requests.index(forKey: k) != nil || (!tailRequests.isEmpty && tailRequests.index(forKey: k) != nil)
        }
        // The series of the tail that are not in `data`: the window holds `requests.count` + these.
        let tailOnly = tailRequests.keys.filter { requests.index(forKey: $0) == nil }
        let count = requests.count + tailOnly.count
        func before(_ a: RequestKey, _ b: RequestKey) -> Bool {
            (a.method, a.route, a.service) < (b.method, b.route, b.service)
        }
        func unlabelled(_ k: RequestKey) -> Bool { k.service.isEmpty || k.route.isEmpty || k.method.isEmpty }
        var order: [RequestKey]
        var places: [Place] = []
        if let previousOrder, previousOrder.count == count {
            // As many series as before and every one of them still here: the same set, so the same order. Their
            // places are found on the way.
            places.reserveCapacity(count)
            for k in previousOrder {
                let p = place(k)
                guard p.cold != nil || p.tail != nil else { break }
                places.append(p)
            }
        }
        if let previousOrder, previousOrder.count == count, places.count == count {
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
            places = order.map(place)
        } else {
            let all = requests.keys + tailOnly
            guard !all.contains(where: unlabelled) else { return nil }
            order = all.sorted(by: before)
            places = order.map(place)
        }
        let window = PromDuration.format(windowMs)
        let nameLabel = Label(name: Labels.metricName, value: name)
        let windowLabel = Label(name: "window", value: window)
        // Each route's text shared by its series' labels (a route's series of other services hold copies of it): a
        // selection's filter compares label values, and equal strings in one storage compare without reading them —
        // a regex on routes over 10 000 series spent ~18 % of the collector in `memcmp` otherwise.
        var routes: [String: String] = [:]
        var samples: [Sample] = []
        let slots = name == "opsight_request_latency_seconds" ? quantiles.count : 1
        labelCache?.lay(out: order, slots: slots)
        func labels(_ i: Int, quantile: Label?, slot: Int) -> Labels {
            if let kept = labelCache?.labels[i * slots + slot] { return kept }
            let k = order[i]
            var pairs = [nameLabel, Label(name: "method", value: k.method)]
            pairs.reserveCapacity(6)
            if let quantile { pairs.append(quantile) }
            // The same bytes only: `String`'s equality (and the dictionary's) holds canonically equivalent texts equal.
            var route = k.route
            if let shared = routes[route] {
                if shared.utf8.elementsEqual(route.utf8) { route = shared }
            } else {
                routes[route] = route
            }
            pairs.append(Label(name: "route", value: route))
            pairs.append(Label(name: "service", value: k.service))
            pairs.append(windowLabel)
            let built = Labels(sortedPairs: pairs)
            labelCache?.labels[i * slots + slot] = built
            return built
        }
        func append(_ i: Int, _ value: Double, quantile: Label? = nil, slot: Int = 0) {
            // Non-finite values are no sample, as in the exposition (an empty window has no ratio).
            guard value.isFinite else { return }
            samples.append(Sample(labels: labels(i, quantile: quantile, slot: slot), value: value))
        }
        // Series `i`'s requests and errors in the window (both parts).
        func counts(_ i: Int) -> (requests: UInt64, errors: UInt64) {
            var (n, errors): (UInt64, UInt64) = (0, 0)
            if let c = places[i].cold { (n, errors) = (requests.values[c].count, requests.values[c].errors) }
            if let t = places[i].tail {
                n &+= tailRequests.values[t].count
                errors &+= tailRequests.values[t].errors
            }
            return (n, errors)
        }
        switch name {
        case "opsight_request_rate":
            samples.reserveCapacity(order.count)
            let seconds = Double(windowMs) / 1000
            for i in order.indices { append(i, Double(counts(i).requests) / seconds) }
        case "opsight_request_error_ratio":
            samples.reserveCapacity(order.count)
            // As ``RequestStats/errorRatio`` of the parts merged: none for a series without requests.
            for i in order.indices {
                let (n, errors) = counts(i)
                append(i, n == 0 ? .nan : Double(errors) / Double(n))
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
                for i in start..<end {
                    let (c, t) = places[i]
                    LogSketch.quantiles(
                        of: c.map { requests.values[$0].latency } ?? empty,
                        and: t.map { tailRequests.values[$0].latency } ?? empty, inLabelOrder, into: &values)
                    table += values
                }
                for (slot, label) in qs.map(\.label).enumerated() {
                    for i in start..<end {
                        let v = table[(i - start) * qs.count + slot]
                        guard !v.isNaN else { continue }
                        append(i, v / 1000, quantile: label, slot: slot)
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
    static func merged(_ a: [RequestKey], _ b: [RequestKey], by before: (RequestKey, RequestKey) -> Bool)
        -> [RequestKey]
    {
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
