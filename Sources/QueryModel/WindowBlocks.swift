import Collector
import NIOCore
import OpsightMetrics
import PromQL

/// The sample lines of the nine windowed families for one window, one block of bytes per family: what
/// ``WindowFamilies`` writes for that window, rendered in one pass straight into bytes.
///
/// A window's blocks depend only on its series (and the quantiles), so ``ExpositionCache`` keeps them while the
/// window's version stays the same. The exposition is every family's HELP and TYPE followed by its block of each
/// window in ascending order.
struct WindowBlocks: Sendable {
    /// The windowed families in the exposition's order: name, type, help (as ``WindowFamilies`` writes them).
    static let families: [(name: String, type: String, help: String)] = [
        ("opsight_request_latency_seconds", "summary", "Request latency quantile over the window."),
        ("opsight_request_rate", "gauge", "Requests per second over the window."),
        ("opsight_request_error_ratio", "gauge", "Error responses / all responses over the window."),
        ("opsight_service_latency_seconds", "summary", "Latency quantile merged over routes."),
        ("opsight_service_request_rate", "gauge", "Requests per second of the service."),
        ("opsight_service_error_ratio", "gauge", "Error ratio of the service."),
        ("opsight_job_duration_seconds", "summary", "Job run time quantile over the window."),
        ("opsight_job_wait_seconds", "summary", "Job queue wait quantile over the window."),
        ("opsight_job_failure_ratio", "gauge", "failed / (succeeded + failed) over the window."),
    ]
    static let names = families.map { Array($0.name.utf8) }

    /// Each family's lines (``families``' order), in one or more pieces to send one after the other.
    let pieces: [[ByteBuffer]]
    /// Each family's lines as one block.
    var blocks: [ByteBuffer] {
        pieces.map { parts in
            var joined = ByteBuffer()
            for p in parts { joined.writeImmutableBuffer(p) }
            return joined
        }
    }

    /// Where each series' and service's lines are, with what they were rendered from: what a render of a later
    /// version needs to redo only the series that changed (``updated(_:order:windowMs:cold:tail:changed:)``).
    let layout: Layout

    /// Where a window's lines lie in its blocks, and what they were rendered from.
    struct Layout: Sendable {
        let order: SeriesOrder
        let quantiles: [Double]
        /// The series rendered, to take out of their services' sums when they change: a window's whole, or a long
        /// window's tail. A long window's cold part is not kept (it is a day of series whose copy, once the durable
        /// cache moves on a minute, would stay until the next render: ~35 MB more at the peak of back-to-back
        /// scrapes of `/metrics`); an update needs it unchanged instead.
        let rendered: WindowData
        /// Whether `rendered` is a tail (the window was rendered from two parts).
        let isTail: Bool
        /// For the request families (0…2): where each rank's lines start in the family's block (the pieces one
        /// after the other), and where the last one's end (`keys.count + 1` offsets).
        var seriesStarts: [[Int]]
        /// For the service families (3…5): each service's lines, by the service's number in ``order``.
        var serviceSpans: [[Range<Int>]]
        /// Each service's sums of both parts, by number (empty when it has no series in the window).
        var services: [ServiceSums]
        /// How many of each service's series the window holds, by number.
        var present: [Int]

        /// The same lines placed in `order`, which is ``order`` or grown from it (``SeriesOrder/base``) by a few
        /// steps: ranks and service numbers moved past the series and services added (which have no lines here).
        /// Nil for another order. A series new to the windows makes a new order; without this the render after it
        /// started over, and under traffic that still brings new series now and then that was most renders.
        func placed(in order: SeriesOrder) -> Layout? {
            var chain: [SeriesOrder] = []
            var at = order
            while at !== self.order {
                guard chain.count < 8, let base = at.base else { return nil }
                chain.append(at)
                at = base
            }
            var out = self
            for grown in chain.reversed() { out = out.grown(into: grown) }
            return out
        }

        /// This layout, whose order `grown` was grown from, placed in `grown`.
        private func grown(into grown: SeriesOrder) -> Layout {
            let n = grown.keys.count
            var isAdded = [Bool](repeating: false, count: n)
            for a in grown.added { isAdded[a] = true }
            var starts = [[Int]](repeating: [Int](repeating: 0, count: n + 1), count: 3)
            var serviceOf = [Int](repeating: -1, count: order.serviceCount)
            var old = 0
            for k in 0..<n {
                // An added series' (empty) lines lie where the next old one's start.
                for f in 0..<3 { starts[f][k] = seriesStarts[f][old] }
                if !isAdded[k] {
                    serviceOf[Int(order.service(old))] = Int(grown.service(k))
                    old += 1
                }
            }
            for f in 0..<3 { starts[f][n] = seriesStarts[f][old] }
            let count = grown.serviceCount
            var spans = [[Range<Int>]](repeating: .init(repeating: 0..<0, count: count), count: 3)
            var sums = [ServiceSums](repeating: ServiceSums(), count: count)
            var present = [Int](repeating: 0, count: count)
            for (was, now) in serviceOf.enumerated() where now >= 0 {
                for f in 0..<3 { spans[f][now] = serviceSpans[f][was] }
                sums[now] = services[was]
                present[now] = self.present[was]
            }
            return Layout(
                order: grown, quantiles: quantiles, rendered: rendered, isTail: isTail, seriesStarts: starts,
                serviceSpans: spans, services: sums, present: present)
        }
    }

    /// Renders window `windowMs` holding `data`; nil when `order` does not cover its request series (found while
    /// rendering, so a scrape does not look every series up once more beforehand).
    init?(windowMs: Int64, data: WindowData, quantiles: [Double], order: SeriesOrder) {
        self.init(windowMs: windowMs, cold: data, tail: nil, coldServices: nil, quantiles: quantiles, order: order)
    }

    /// Renders window `windowMs` holding `cold` + `tail` (a long window's two cached parts,
    /// ``MetricsReader/LongParts``) without summing them: each series' counts are added and its quantiles walked
    /// over both sketches, and the services' sums start from `coldServices` (``ServiceSums/of(_:)`` of `cold`, kept
    /// while `cold` stays) and add the tail. The same bytes as rendering the sum; summing a day of 10 000 series into
    /// a copy, for every new version of the two newest minutes, was most of a scrape of `1d`.
    init?(
        windowMs: Int64, cold: WindowData, tail: WindowData?, coldServices: [String: ServiceSums]?,
        quantiles: [Double], order: SeriesOrder
    ) {
        let piece = Self.piece(
            windowMs: windowMs, cold: cold, tail: tail, coldServices: coldServices, quantiles: quantiles, order: order,
            ranks: 0..<order.keys.count, jobs: true)
        guard piece.foundCold == cold.requests.count, piece.foundTail == (tail?.requests.count ?? 0) else { return nil }
        self = Self.joined([piece], order: order, quantiles: quantiles, cold: cold, tail: tail)
    }

    /// As ``init(windowMs:cold:tail:coldServices:quantiles:order:)``, the series order cut in `parts` at services'
    /// boundaries and the parts rendered side by side: a window of 10 000 series is ~20 ms of rendering on one
    /// core, and a scrape of one window (`/metrics?window=1d`) waits for it.
    static func render(
        windowMs: Int64, cold: WindowData, tail: WindowData?, coldServices: [String: ServiceSums]?,
        quantiles: [Double], order: SeriesOrder, parts: Int
    ) async -> WindowBlocks? {
        let keys = order.keys
        var cuts = [0]
        for p in 1..<max(parts, 1) {
            var cut = max(keys.count * p / parts, cuts.last!)
            while cut > 0, cut < keys.count, keys[cut].service == keys[cut - 1].service { cut += 1 }
            if cut < keys.count, cut > cuts.last! { cuts.append(cut) }
        }
        cuts.append(keys.count)
        let ranges = zip(cuts, cuts.dropFirst()).map { $0..<$1 }
        let rendered = await withTaskGroup(of: (Int, Piece).self) { group in
            for (i, ranks) in ranges.enumerated() {
                group.addTask {
                    let piece = Self.piece(
                        windowMs: windowMs, cold: cold, tail: tail, coldServices: coldServices, quantiles: quantiles,
                        order: order, ranks: ranks, jobs: i == ranges.count - 1)
                    return (i, piece)
                }
            }
            var out = [Piece?](repeating: nil, count: ranges.count)
            for await (i, piece) in group { out[i] = piece }
            return out.map { $0! }
        }
        guard rendered.reduce(0, { $0 + $1.foundCold }) == cold.requests.count,
            rendered.reduce(0, { $0 + $1.foundTail }) == (tail?.requests.count ?? 0)
        else { return nil }
        return joined(rendered, order: order, quantiles: quantiles, cold: cold, tail: tail)
    }

    private init(pieces: [[ByteBuffer]], layout: Layout) {
        self.pieces = pieces
        self.layout = layout
    }

    /// The pieces of consecutive ranks (the last one with the jobs) as one window, their offsets made the blocks'.
    private static func joined(
        _ parts: [Piece], order: SeriesOrder, quantiles: [Double], cold: WindowData, tail: WindowData?
    ) -> WindowBlocks {
        let serviceCount = order.serviceCount
        var starts = [[Int]](repeating: [], count: 3)
        var spans = [[Range<Int>]](repeating: .init(repeating: 0..<0, count: serviceCount), count: 3)
        var services = [ServiceSums](repeating: ServiceSums(), count: serviceCount)
        var present = [Int](repeating: 0, count: serviceCount)
        var bases = [Int](repeating: 0, count: families.count)
        for (p, part) in parts.enumerated() {
            for f in 0..<3 {
                // Each part's last offset is the next one's first.
                let local = p == parts.count - 1 ? part.starts[f][...] : part.starts[f].dropLast()
                starts[f] += local.map { $0 + bases[f] }
            }
            for s in part.services {
                let n = Int(s.number)
                for f in 0..<3 {
                    spans[f][n] = (s.spans[f].lowerBound + bases[3 + f])..<(s.spans[f].upperBound + bases[3 + f])
                }
                services[n] = s.sums
                present[n] = s.present
            }
            for f in bases.indices { bases[f] += part.blocks[f].readableBytes }
        }
        if parts.isEmpty { starts = [[0], [0], [0]] }
        return WindowBlocks(
            pieces: families.indices.map { f in parts.map { $0.blocks[f] } },
            layout: Layout(
                order: order, quantiles: quantiles, rendered: tail ?? cold, isTail: tail != nil, seriesStarts: starts,
                serviceSpans: spans, services: services, present: present))
    }

    /// Window `windowMs` holding `cold` + `tail`, from `last` (a render of the same window) and the request series
    /// that changed since it (``ChangedSeries``): the changed series and their services rendered again, every other
    /// series' and service's lines copied from `last`, the jobs (a few series, not followed) rendered again. The
    /// same bytes as a render from scratch (``render(windowMs:cold:tail:coldServices:quantiles:order:parts:)``); nil
    /// when `last` was rendered with an order `order` was not grown from (``Layout/placed(in:)``), when a long
    /// window's cold part is not the one `last` was rendered with (`sameCold`: every series of the day moves at
    /// each minute, and `last` does not keep that part), or when so many series changed that a render from scratch
    /// costs less. `last`'s quantiles are this render's, and it has a tail when this one has.
    ///
    /// Between two versions of a window under steady ingest a few hundred of 10 000 series change: rendering all of
    /// them again at each version (20–40 ms, most of a changed scrape of `/metrics?window=5m`) redid the lines of
    /// series that had not changed.
    static func updated(
        _ last: WindowBlocks, order: SeriesOrder, windowMs: Int64, cold: WindowData, tail: WindowData?,
        sameCold: Bool, changed: ChangedSeries
    ) -> WindowBlocks? {
        let keys = order.keys
        guard last.layout.isTail == (tail != nil), tail == nil || sameCold, !changed.all,
            changed.keys.count * 4 <= keys.count, let layout = last.layout.placed(in: order)
        else {
            return nil
        }
        var ranks: [Int] = []
        ranks.reserveCapacity(changed.keys.count)
        for key in changed.keys {
            guard let r = order.rank[key] else { return nil }
            ranks.append(r)
        }
        ranks.sort()
        let lines = Lines(windowMs: windowMs, quantiles: layout.quantiles)
        var services = layout.services
        var present = layout.present
        var dirty = [Bool](repeating: false, count: services.count)
        var blocks = (0..<families.count).map { f in
            ExpositionWriter(
                capacity: f < 6 ? last.pieces[f].reduce(0) { $0 + $1.readableBytes } + ranks.count * 200 : 0)
        }
        var starts = layout.seriesStarts
        var copied = [0, 0, 0]  // how far each request family's old block is copied
        var shifts: [(rank: Int, by: [Int])] = []  // from each changed rank on, how far the old offsets moved
        var values: [Double] = []
        for r in ranks {
            let key = keys[r]
            let (c, t) = (cold.requests[key], tail?.requests[key])
            // A long window's cold series is the one `last` rendered (`sameCold`).
            let (c0, t0) = tail == nil ? (layout.rendered.requests[key], nil) : (c, layout.rendered.requests[key])
            for f in 0..<3 {
                copy(copied[f]..<layout.seriesStarts[f][r], of: last.pieces[f], into: &blocks[f])
                starts[f][r] = blocks[f].buffer.readableBytes
            }
            if c != nil || t != nil {
                lines.series(order.prefix(r), c, t, into: &blocks, values: &values)
            }
            for f in 0..<3 { copied[f] = layout.seriesStarts[f][r + 1] }
            shifts.append((r + 1, (0..<3).map { blocks[$0].buffer.readableBytes - copied[$0] }))
            // The service's sums: the series' old parts out, its new ones in.
            let n = Int(order.service(r))
            dirty[n] = true
            services[n].name = key.service
            if let c0 { services[n].subtract(c0) }
            if let t0 { services[n].subtract(t0) }
            if let c { services[n].add(c) }
            if let t { services[n].add(t) }
            present[n] += (c != nil || t != nil ? 1 : 0) - (c0 != nil || t0 != nil ? 1 : 0)
            if present[n] == 0 { services[n] = ServiceSums() }
        }
        for f in 0..<3 {
            copy(copied[f]..<layout.seriesStarts[f][keys.count], of: last.pieces[f], into: &blocks[f])
            // The ranks after each changed one moved by its shift, up to the next changed one.
            for (i, shift) in shifts.enumerated() {
                let upTo = i + 1 < shifts.count ? shifts[i + 1].rank - 1 : keys.count + 1
                guard shift.rank < upTo else { continue }
                for k in shift.rank..<upTo { starts[f][k] = layout.seriesStarts[f][k] + shift.by[f] }
            }
        }
        var spans = layout.serviceSpans
        for n in services.indices {
            if dirty[n] {
                let written = present[n] > 0 ? lines.service(services[n], into: &blocks) : nil
                for f in 0..<3 {
                    let at = blocks[3 + f].buffer.readableBytes
                    spans[f][n] = written?[f] ?? at..<at
                }
            } else {
                for f in 0..<3 {
                    let begin = blocks[3 + f].buffer.readableBytes
                    copy(layout.serviceSpans[f][n], of: last.pieces[3 + f], into: &blocks[3 + f])
                    spans[f][n] = begin..<blocks[3 + f].buffer.readableBytes
                }
            }
        }
        lines.jobs(cold: cold, tail: tail, into: &blocks)
        return WindowBlocks(
            pieces: blocks.map { [$0.buffer] },
            layout: Layout(
                order: order, quantiles: layout.quantiles, rendered: tail ?? cold, isTail: tail != nil,
                seriesStarts: starts, serviceSpans: spans, services: services, present: present))
    }

    /// Appends bytes `range` of `pieces` one after the other.
    private static func copy(_ range: Range<Int>, of pieces: [ByteBuffer], into writer: inout ExpositionWriter) {
        guard !range.isEmpty else { return }
        var base = 0
        for piece in pieces {
            let size = piece.readableBytes
            let low = max(range.lowerBound, base)
            let high = min(range.upperBound, base + size)
            if low < high {
                writer.append(piece.getSlice(at: piece.readerIndex + low - base, length: high - low)!)
            }
            base += size
            if base >= range.upperBound { break }
        }
    }

    /// The lines of the series at `ranks` of `order` (and of the jobs when `jobs`), with how many series of each
    /// part were found there, where each rank's lines start in the request families' blocks (and where the last
    /// one's end), and each service's lines and sums.
    private struct Piece: Sendable {
        var blocks: [ByteBuffer]
        var foundCold: Int
        var foundTail: Int
        var starts: [[Int]]
        var services: [(number: Int32, spans: [Range<Int>], sums: ServiceSums, present: Int)]
    }

    /// What writing a window's lines needs, made once per render.
    private struct Lines {
        /// This render's own copies of the names: the shared arrays' reference counts, taken at every line by the
        /// renders on each core at once, bounced between the cores.
        let names: [[UInt8]]
        let windowEnd: [UInt8]
        let quantileEnds: [[UInt8]]
        let quantiles: [Double]
        let windowMs: Int64
        let seconds: Double

        init(windowMs: Int64, quantiles: [Double]) {
            self.windowMs = windowMs
            let window = PromDuration.format(windowMs)
            // `window` is digits and unit letters: nothing to escape.
            windowEnd = Array(",window=\"\(window)\"}".utf8)
            quantileEnds = quantiles.map {
                Array(",window=\"\(window)\",quantile=\"\(PrometheusText.format($0))\"}".utf8)
            }
            names = WindowBlocks.names.map { name in name.withUnsafeBufferPointer { Array($0) } }
            self.quantiles = quantiles
            seconds = Double(PromDuration.milliseconds(window)!) / 1000
        }

        /// One request series' latency, rate and error ratio lines, from its two parts (one at least not nil).
        @inline(__always)
        func series(
            _ prefix: UnsafeBufferPointer<UInt8>, _ c: RequestStats?, _ t: RequestStats?,
            into blocks: inout [ExpositionWriter], values: inout [Double]
        ) {
            LogSketch.quantiles(of: c?.latency ?? LogSketch(), and: t?.latency ?? LogSketch(), quantiles, into: &values)
            for i in values.indices where !values[i].isNaN {
                blocks[0].sample(names[0], labels: prefix, quantileEnds[i], values[i] / 1000)
            }
            // As ``RequestStats/errorRatio`` of the two parts merged.
            let count = (c?.count ?? 0) &+ (t?.count ?? 0)
            let errors = (c?.errors ?? 0) &+ (t?.errors ?? 0)
            blocks[1].sample(names[1], labels: prefix, windowEnd, Double(count) / seconds)
            blocks[2].sample(names[2], labels: prefix, windowEnd, count == 0 ? .nan : Double(errors) / Double(count))
        }

        /// A service's three lines (``ServiceSums/write(to:quantiles:_:_:windowMs:)``), and where they went in the
        /// service families' blocks (3…5).
        func service(_ sums: ServiceSums, into blocks: inout [ExpositionWriter]) -> [Range<Int>] {
            let begin = (3..<6).map { blocks[$0].buffer.readableBytes }
            sums.write(to: &blocks, quantiles: quantiles, quantileEnds, windowEnd, windowMs: windowMs)
            return (3..<6).map { begin[$0 - 3]..<blocks[$0].buffer.readableBytes }
        }

        /// The job series' lines (a few), in label order.
        func jobs(cold: WindowData, tail: WindowData?, into blocks: inout [ExpositionWriter]) {
            var jobSeries = cold.jobs
            for (k, v) in tail?.jobs ?? [:] { jobSeries[k, default: JobStats()].merge(v) }
            let jobs = jobSeries.sorted {
                ($0.key.service, $0.key.queue, $0.key.job) < ($1.key.service, $1.key.queue, $1.key.job)
            }
            for (k, s) in jobs {
                var writer = ExpositionWriter()
                writer.append(ascii: UInt8(ascii: "{"))
                writer.labels(("service", k.service), ("queue", k.queue), ("job", k.job))
                let prefix = writer.bytes[...]
                let wait = s.queueWait
                for (i, q) in quantiles.enumerated() {
                    guard let v = s.duration.quantile(q) else { continue }
                    blocks[6].sample(names[6], labels: prefix, quantileEnds[i], v / 1000)
                }
                for (i, q) in quantiles.enumerated() {
                    guard let v = wait.quantile(q) else { continue }
                    blocks[7].sample(names[7], labels: prefix, quantileEnds[i], v / 1000)
                }
                blocks[8].sample(names[8], labels: prefix, windowEnd, s.failureRatio ?? .nan)
            }
        }
    }

    private static func piece(
        windowMs: Int64, cold: WindowData, tail: WindowData?, coldServices: [String: ServiceSums]?,
        quantiles: [Double], order: SeriesOrder, ranks: Range<Int>, jobs includeJobs: Bool
    ) -> Piece {
        let lines = Lines(windowMs: windowMs, quantiles: quantiles)
        var blocks = [ExpositionWriter](repeating: ExpositionWriter(), count: Self.families.count)
        let keys = order.keys

        // Request series: latency, rate and error ratio, and each service's sums, in one pass along the shared
        // order (the window's series looked up, not sorted). The series of a service are adjacent in label order
        // and services come in name order, so a service is complete when the next one starts.
        let estimate = min(cold.requests.count + (tail?.requests.count ?? 0), ranks.count) * 160
        blocks[0] = ExpositionWriter(capacity: estimate * quantiles.count)
        blocks[1] = ExpositionWriter(capacity: estimate)
        blocks[2] = ExpositionWriter(capacity: estimate)
        var starts = [[Int]](repeating: [], count: 3)
        for f in 0..<3 { starts[f].reserveCapacity(ranks.count + 1) }
        var services: [(number: Int32, spans: [Range<Int>], sums: ServiceSums, present: Int)] = []
        // Plain locals, no nested function over them: a closure's captures would be boxed and every access to the
        // writers checked for exclusivity at run time.
        var service = ServiceSums()
        var serviceNumber: Int32 = -1
        var present = 0
        var values: [Double] = []
        var (foundCold, foundTail) = (0, 0)
        for rank in ranks {
            for f in 0..<3 { starts[f].append(blocks[f].buffer.readableBytes) }
            let key = keys[rank]
            let c = cold.requests[key]
            let t = tail?.requests[key]
            guard c != nil || t != nil else { continue }
            if c != nil { foundCold += 1 }
            if t != nil { foundTail += 1 }
            lines.series(order.prefix(rank), c, t, into: &blocks, values: &values)
            if order.service(rank) != serviceNumber {
                if serviceNumber >= 0 {
                    let spans = lines.service(service, into: &blocks)
                    services.append((serviceNumber, spans, service, present))
                }
                let name = key.service
                service = coldServices?[name] ?? ServiceSums()
                service.name = name
                serviceNumber = order.service(rank)
                present = 0
            }
            present += 1
            if coldServices == nil, let c { service.add(c) }
            if let t { service.add(t) }
        }
        for f in 0..<3 { starts[f].append(blocks[f].buffer.readableBytes) }
        if serviceNumber >= 0 {
            let spans = lines.service(service, into: &blocks)
            services.append((serviceNumber, spans, service, present))
        }
        if includeJobs { lines.jobs(cold: cold, tail: tail, into: &blocks) }
        return Piece(
            blocks: blocks.map(\.buffer), foundCold: foundCold, foundTail: foundTail, starts: starts,
            services: services)
    }
}

/// One service's request series summed so far (``WindowData/requestsByService(latency:)`` for one service).
struct ServiceSums: Sendable {
    var name: String? = nil
    var count: UInt64 = 0
    var errors: UInt64 = 0
    var latency = LogSketchAccumulator()

    /// Adds one series.
    mutating func add(_ s: RequestStats) {
        count &+= s.count
        errors &+= s.errors
        latency.add(s.latency)
    }

    /// Takes one series added before out again (exactly: the sums are integer counts).
    mutating func subtract(_ s: RequestStats) {
        count &-= s.count
        errors &-= s.errors
        latency.subtract(s.latency)
    }

    /// The sums of each service of `data`.
    static func of(_ data: WindowData) -> [String: ServiceSums] {
        var out: [String: ServiceSums] = [:]
        for (k, s) in data.requests { out[k.service, default: ServiceSums(name: k.service)].add(s) }
        return out
    }

    /// The service's three lines into `blocks` (``WindowBlocks/families`` 3…5); nothing before the first service.
    func write(
        to blocks: inout [ExpositionWriter], quantiles: [Double], _ quantileEnds: [[UInt8]], _ windowEnd: [UInt8],
        windowMs: Int64
    ) {
        guard let name else { return }
        var writer = ExpositionWriter()
        writer.append(ascii: UInt8(ascii: "{"))
        writer.label("service", name)
        let prefix = writer.bytes[...]
        let names = WindowBlocks.names
        let sketch = latency.sketch
        for (i, q) in quantiles.enumerated() {
            guard let v = sketch.quantile(q) else { continue }
            blocks[3].sample(names[3], labels: prefix, quantileEnds[i], v / 1000)
        }
        blocks[4].sample(names[4], labels: prefix, windowEnd, Double(count) / (Double(windowMs) / 1000))
        // As ``RequestStats/errorRatio`` of the merged series.
        blocks[5].sample(names[5], labels: prefix, windowEnd, count == 0 ? .nan : Double(errors) / Double(count))
    }
}

/// The `_total` counter families (``CounterFamilies``) from the stores' running totals, rendered straight into bytes.
enum CounterBlock {
    private static let requestsName = Array("opsight_requests_total".utf8)
    private static let classEnds = (1...5).map { Array(",code_class=\"\($0)xx\"}".utf8) }

    /// The three families' lines; nil when `order` does not cover `totals`' request series.
    static func render(_ totals: WindowData, order: SeriesOrder) -> ByteBuffer? {
        var p = ExpositionWriter(capacity: totals.requests.count * 2 * 110 + 4096)
        p.family("opsight_requests_total", type: "counter", help: "Requests by status class.")
        var found = 0
        for (rank, key) in order.keys.enumerated() {
            guard let s = totals.requests[key] else { continue }
            found += 1
            let prefix = order.prefix(rank)
            for c in 1...5 where s.count(ofClass: c) > 0 {
                p.sample(requestsName, labels: prefix, classEnds[c - 1], Double(s.count(ofClass: c)))
            }
        }
        guard found == totals.requests.count else { return nil }
        p.family("opsight_jobs_total", type: "counter", help: "Job lifecycle events.")
        for (k, s) in totals.jobs.sorted(by: {
            ($0.key.service, $0.key.queue, $0.key.job) < ($1.key.service, $1.key.queue, $1.key.job)
        }) {
            for e in JobEventType.allCases where s.count(e) > 0 {
                p.append("opsight_jobs_total{")
                p.labels(("service", k.service), ("queue", k.queue), ("job", k.job))
                p.append(ascii: UInt8(ascii: ","))
                p.label("event", e.rawString)
                p.append(ascii: UInt8(ascii: "}"))
                p.endLine(Double(s.count(e)))
            }
        }
        p.family("opsight_log_lines_total", type: "counter", help: "Log lines by level.")
        for (service, s) in totals.logs.sorted(by: { $0.key < $1.key }) {
            for l in LogLevel.allCases where s.count(l) > 0 {
                p.append("opsight_log_lines_total{")
                p.label("service", service)
                p.append(ascii: UInt8(ascii: ","))
                p.label("level", l.rawString)
                p.append(ascii: UInt8(ascii: "}"))
                p.endLine(Double(s.count(l)))
            }
        }
        return p.buffer
    }
}
