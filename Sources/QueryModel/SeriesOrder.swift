import Collector

/// Request series in label order, with each one's labels as exposition bytes: sorted and escaped once, and shared
/// by every family and window of `/metrics` (``WindowBlocks``, ``CounterBlock``) and by later scrapes while no new
/// series appears.
///
/// Sorting 10 000 series by their label strings, once per window and family, and escaping their labels once per
/// sample was a good part of a scrape.
final class SeriesOrder: Sendable {
    /// The series in label order.
    let keys: [RequestKey]
    /// Each series' place in label order.
    let rank: [RequestKey: Int]
    /// `{service="…",route="…",method="…"` of every series, escaped, in label order (without the closing brace:
    /// `window` and the family's own labels follow).
    private let prefixes: [UInt8]
    /// Where each series' prefix ends in `prefixes`.
    private let ends: [Int]

    /// The order of `keys` (each once).
    init(keys: [RequestKey]) {
        let sorted = keys.sorted(by: WindowFamilies.order)
        var rank: [RequestKey: Int] = [:]
        rank.reserveCapacity(sorted.count)
        var writer = ExpositionWriter(capacity: sorted.count * 64)
        var ends: [Int] = []
        ends.reserveCapacity(sorted.count)
        for (i, k) in sorted.enumerated() {
            rank[k] = i
            writer.append(ascii: UInt8(ascii: "{"))
            writer.labels(("service", k.service), ("route", k.route), ("method", k.method))
            ends.append(writer.buffer.readableBytes)
        }
        self.keys = sorted
        self.rank = rank
        self.prefixes = writer.bytes
        self.ends = ends
    }

    /// The label bytes of the series at `rank`.
    func prefix(_ rank: Int) -> ArraySlice<UInt8> {
        prefixes[(rank == 0 ? 0 : ends[rank - 1])..<ends[rank]]
    }

    /// Whether every series of `series` has a place.
    func covers(_ series: Dictionary<RequestKey, some Any>.Keys) -> Bool {
        series.allSatisfy { rank[$0] != nil }
    }
}
