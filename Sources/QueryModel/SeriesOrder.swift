import Collector

/// Request series in label order, with each one's labels as exposition bytes: sorted and escaped once, and shared
/// by every family and window of `/metrics` (``WindowBlocks``, ``CounterBlock``) and by later scrapes while no new
/// series appears.
///
/// Sorting 10 000 series by their label strings, once per window and family, and escaping their labels once per
/// sample was a good part of a scrape.
final class SeriesOrder: @unchecked Sendable {
    /// The series in label order.
    let keys: [RequestKey]
    /// Each series' place in label order.
    let rank: [RequestKey: Int]
    /// `{service="…",route="…",method="…"` of every series, escaped, in label order (without the closing brace:
    /// `window` and the family's own labels follow).
    ///
    /// This and the two below are memory the order owns (freed with it), not arrays: a scrape's renders (a window's
    /// parts on each core, the counters beside them) read every series' bytes at once, and an array's reference
    /// count, taken and dropped at each read, bounced between the cores (perf: retain and release were about half
    /// of a render). Never written after `init`, so the class is `Sendable`.
    private let prefixes: UnsafeMutableBufferPointer<UInt8>
    /// Where each series' prefix ends in `prefixes`.
    private let ends: UnsafeMutableBufferPointer<Int>
    /// Each series' service, numbered in label order (a render starts a service's sums where it changes).
    private let services: UnsafeMutableBufferPointer<Int32>
    /// The order this one was grown from (``init(_:adding:)``), while something else keeps it (a render made with
    /// it, ``WindowBlocks/Layout``), and the ranks of the series added to it, ascending: what moves a render's
    /// layout into this order. Set in `init` only.
    private(set) weak var base: SeriesOrder?
    private(set) var added: [Int] = []

    /// The order of `keys` (each once).
    convenience init(keys: [RequestKey]) {
        self.init(sorted: WindowFamilies.sorted(keys), reusing: nil)
    }

    /// `last`'s order with `added` (series it does not hold) put in their places: the new series sorted and
    /// merged in, the others' labels taken as they are. A series new to the windows (a route seen for the first
    /// time, or one of 10 000 not seen in a while) re-sorted every series on the scrape that found it, ~100 ms of a
    /// scrape at 10 000 series while new ones kept coming (perf, docs/benchmarks.md).
    convenience init(_ last: SeriesOrder, adding added: [RequestKey]) {
        var merged: [RequestKey] = []
        merged.reserveCapacity(last.keys.count + added.count)
        var from = 0
        for key in WindowFamilies.sorted(added) {
            // The first of `last`'s series after `key`: binary search, ~14 comparisons at 10 000 series.
            let labels = key.labels
            var (low, high) = (from, last.keys.count)
            while low < high {
                let mid = (low + high) / 2
                if WindowFamilies.order(last.keys[mid].labels, labels) { low = mid + 1 } else { high = mid }
            }
            merged += last.keys[from..<low]
            merged.append(key)
            from = low
        }
        merged += last.keys[from...]
        self.init(sorted: merged, reusing: last)
        base = last
        self.added = added.map { rank[$0]! }.sorted()
    }

    /// The order `sorted` (in label order, each once), with the label bytes of the series `last` holds copied from
    /// it rather than escaped again.
    private init(sorted: [RequestKey], reusing last: SeriesOrder?) {
        var rank: [RequestKey: Int] = [:]
        rank.reserveCapacity(sorted.count)
        // The prefixes copied, ~64 bytes for each new one.
        let capacity = (last?.prefixes.count ?? 0) + max(sorted.count - (last?.keys.count ?? 0), 0) * 64
        var writer = ExpositionWriter(capacity: capacity)
        let ends = UnsafeMutableBufferPointer<Int>.allocate(capacity: sorted.count)
        let services = UnsafeMutableBufferPointer<Int32>.allocate(capacity: sorted.count)
        var service: (name: String, number: Int32)? = nil
        for (i, k) in sorted.enumerated() {
            rank[k] = i
            let labels = k.labels
            if let last, let r = last.rank[k] {
                writer.append(last.prefix(r))
            } else {
                writer.append(ascii: UInt8(ascii: "{"))
                writer.labels(("service", labels.first), ("route", labels.second), ("method", labels.third))
            }
            ends[i] = writer.buffer.readableBytes
            if service?.name != labels.first { service = (labels.first, (service?.number ?? -1) + 1) }
            services[i] = service!.number
        }
        let prefixes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: writer.buffer.readableBytes)
        _ = writer.buffer.readableBytesView.withUnsafeBytes { prefixes.initialize(from: $0.bindMemory(to: UInt8.self)) }
        self.keys = sorted
        self.rank = rank
        self.prefixes = prefixes
        self.ends = ends
        self.services = services
    }

    deinit {
        prefixes.deallocate()
        ends.deallocate()
        services.deallocate()
    }

    /// The label bytes of the series at `rank`; valid while the order is.
    @inline(__always)
    func prefix(_ rank: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: prefixes[(rank == 0 ? 0 : ends[rank - 1])..<ends[rank]])
    }

    /// The number of the service of the series at `rank`: series of one service have the same, and it grows with
    /// the services' label order.
    @inline(__always)
    func service(_ rank: Int) -> Int32 { services[rank] }

    /// How many services the series have (their numbers are `0..<serviceCount`).
    var serviceCount: Int { keys.isEmpty ? 0 : Int(services[keys.count - 1]) + 1 }

    /// Whether every series of `series` has a place.
    func covers(_ series: Dictionary<RequestKey, some Any>.Keys) -> Bool {
        series.allSatisfy { rank[$0] != nil }
    }
}
