import Collector
import Synchronization

/// The windows of one range query (`/api/v1/query_range`, a Grafana or console panel) at its steps, slid from step to
/// step rather than read whole at each.
///
/// Read step by step, a 5-minute window over the last hour at 15 s steps is 241 reads of 30 hot buckets each: every
/// bucket read, parsed and merged ~20 times, and at 10 000 series a panel took ~20 s. Here each window (per store and
/// service filter) keeps the buckets it holds, read once (``Configuration/readAhead`` buckets ahead of the step that needs them,
/// at most ``Configuration/readChunk`` in one pipeline), and moves on as ``WindowSums`` moves the cached windows: the
/// buckets that enter are added and those that leave are subtracted — exact, since sketch bucket counts are integers
/// and a bucket subtracted is the very contents added.
///
/// Each step's window is what ``MetricsReader/window(service:windowMs:at:)`` reads at that given time, from the same
/// buckets: the hot ones for windows up to ``MetricsReader/Configuration/maxHotWindowMs`` whose oldest bucket the hot
/// store still holds (the window ending at the step's 10-second bucket); else the durable minutes through two
/// minutes back and the hot buckets of those two minutes while the hot store holds them (the window ending at the
/// step's minute), each part slid on its own. A window that is not whole minutes past the hot buckets is answered
/// with nil: the caller reads it as before.
///
/// A part that would hold more than ``Configuration/maxCells`` series-buckets (a 5-minute window at 10 000 series
/// under steady traffic holds ~300 000) keeps none: it reads each bucket again when it leaves the window, and keeps
/// of each bucket only what it added in total (``WindowData/contentTotal``). A bucket's contents only grow (every
/// write adds counts; a store rebuilt after a restart replays the same events), so a bucket read again with the same
/// total holds what was added, and is subtracted; one whose total changed meanwhile (a late event) makes that step
/// sum its window afresh. Reading a window whole at every step instead took 30 buckets × 10 000 series per step: an
/// hour of 15-second steps ran past the 30 s deadline.
public final class RangeWindows: Sendable {
    /// Limits of one range query's sliding.
    public struct Configuration: Sendable {
        /// Buckets read beyond the step that needs them.
        public var readAhead: Int64
        /// The most buckets read in one pipeline: the replies of a pipeline are held whole while they are parsed
        /// (~1 KB per series-bucket), so an hour's window is read in pieces.
        public var readChunk: Int64
        /// The most (series, bucket) cells one window may hold (~250 bytes each): past it the window holds none and
        /// reads each bucket again as it leaves.
        public var maxCells: Int
        /// Creates the configuration.
        public init(readAhead: Int64 = 12, readChunk: Int64 = 12, maxCells: Int = 250_000) {
            self.readAhead = readAhead
            self.readChunk = max(1, readChunk)
            self.maxCells = maxCells
        }
    }

    /// What a range's windows hold of each bucket: everything, or only what the selected families are made of, so
    /// that a window of all the series' buckets is a few series (and can be kept across queries: ``BucketSummaries``).
    enum Contents: Hashable, Sendable {
        /// Every series.
        case all
        /// Each service's requests summed into one series (route and method empty), and nothing else: what the
        /// service families are made of (``WindowData/requestsByService(latency:)`` of the sum is that of the sums).
        case serviceSums
        /// The job series only: what the job families are made of.
        case jobs

        /// What this keeps of `data`.
        func kept(of data: WindowData) -> WindowData {
            switch self {
            case .all: return data
            case .serviceSums: return data.summedPerService()
            case .jobs:
                var out = WindowData()
                out.jobs = data.jobs
                return out
            }
        }
    }

    /// One slider: a run of buckets of one store and service filter.
    private struct Key: Hashable {
        var part: Part.Kind
        var service: String?
        var buckets: Int64
        var contents: Contents
    }

    private let hot: any MetricsStore
    /// The hot buckets' (false) or the durable minutes' (true) reduced contents kept across queries (nil: not kept).
    private let summaries: @Sendable (_ durable: Bool, _ contents: Contents) -> BucketSummaries?
    private let durable: any MetricsStore
    private let maxHotWindowMs: Int64
    private let oldestHotMs: Int64
    private let lastBucket: Int64
    private let lastMinute: Int64
    /// The range's end (its last step).
    private let endMs: Int64
    private let stepMs: Int64
    private let configuration: Configuration
    private let sliders = Mutex<[Key: WindowSlider]>([:])
    /// See ``stepStamps(_:)``.
    private let polledStamps = PolledStamps()
    /// The newest windows of earlier range queries' sliders (nil: none kept).
    private let keptWindows: KeptWindows?
    /// What the steps' sample builds (``RequestSamples``) pass on to the next step, per family, window and quantiles:
    /// the series order (from one step to the next most series stay) and each series' labels.
    private let builds = Mutex<[SampleMemo.Key: (order: [RequestKey]?, labels: RequestSamples.LabelCache?)]>([:])

    /// The windows of a range through `endMs` at steps `stepMs` apart over `hot`, whose buckets from `oldestHotMs` on
    /// are all held, and `durable`.
    init(
        hot: any MetricsStore, durable: any MetricsStore, maxHotWindowMs: Int64, oldestHotMs: Int64, endMs: Int64,
        stepMs: Int64, configuration: Configuration,
        summaries: @escaping @Sendable (_ durable: Bool, _ contents: Contents) -> BucketSummaries? = { _, _ in nil },
        keptWindows: KeptWindows? = nil
    ) {
        self.keptWindows = keptWindows
        self.stepMs = max(1, stepMs)
        self.hot = hot
        self.summaries = summaries
        self.durable = durable
        self.maxHotWindowMs = maxHotWindowMs
        self.oldestHotMs = oldestHotMs
        let end = min(max(endMs, MetricsReader.timeRangeMs.lowerBound), MetricsReader.timeRangeMs.upperBound)
        self.lastBucket = TimeBucket.floorDiv(end, TimeBucket.hotWidthMs)
        self.lastMinute = TimeBucket.floorDiv(end, TimeBucket.durableWidthMs)
        self.endMs = end
        self.configuration = configuration
    }

    /// One run of buckets a step's window is the sum of.
    struct Part: Hashable, Sendable {
        enum Kind: Hashable, Sendable {
            /// A window of the hot buckets.
            case hot
            /// The durable minutes of a longer (or older) window.
            case durable
            /// The hot buckets of the last two minutes of such a window.
            case tail
        }
        var kind: Kind
        /// The newest bucket (a minute's index for ``Kind/durable``, else a hot bucket's).
        var last: Int64
        /// How many buckets.
        var count: Int64
        /// Whether the buckets are the durable store's minutes.
        var isDurable: Bool { kind == .durable }
        var buckets: ClosedRange<Int64> { (last - count + 1)...last }
    }

    /// The buckets window `windowMs` ending at `timeMs` is read from in this range, and the end of the window they
    /// make; nil when such a step is not slid (read directly). See ``window(service:windowMs:at:contents:)``.
    func layout(windowMs: Int64, at timeMs: Int64) -> (parts: [Part], timeMs: Int64)? {
        let hotW = TimeBucket.hotWidthMs
        let durW = TimeBucket.durableWidthMs
        guard windowMs > 0, windowMs <= MetricsReader.maxWindowMs, windowMs % hotW == 0,
            MetricsReader.timeRangeMs.contains(timeMs)
        else { return nil }
        // As MetricsReader.window: the hot buckets when the window is short and they still hold its oldest bucket…
        let kHot = TimeBucket.floorDiv(timeMs, hotW)
        if windowMs <= maxHotWindowMs, (kHot - windowMs / hotW) * hotW >= oldestHotMs {
            guard kHot <= lastBucket else { return nil }
            return ([Part(kind: .hot, last: kHot, count: windowMs / hotW)], kHot * hotW)
        }
        // …else the durable minutes, the last two from the hot buckets while they hold them. A window that is not
        // whole minutes is refused there: left to the direct read, which says so.
        guard windowMs % durW == 0 else { return nil }
        let k = TimeBucket.floorDiv(timeMs, durW)
        guard k <= lastMinute else { return nil }
        let minutes = windowMs / durW
        let hotMinutes: Int64 = minutes >= 2 && (k - 2) * durW >= oldestHotMs ? 2 : 0
        var parts: [Part] = []
        if minutes > hotMinutes {
            parts.append(Part(kind: .durable, last: k - hotMinutes, count: minutes - hotMinutes))
        }
        if hotMinutes > 0 {
            let perMinute = TimeBucket.hotPerDurable
            parts.append(Part(kind: .tail, last: k * perMinute, count: hotMinutes * perMinute))
        }
        return (parts, k * durW)
    }

    /// Window `windowMs` of `service` (nil: all) ending at `timeMs`, as ``MetricsReader/window(service:windowMs:at:)``
    /// reads it at that given time; nil when this step is not slid (read it directly). Steps of one window must come
    /// in ascending order (a step asked again is answered again).
    ///
    /// The window holds what `contents` keeps of the buckets: with ``Contents/serviceSums`` all 10 000 series of a
    /// day's minutes are 20 services' few.
    func window(service: String?, windowMs: Int64, at timeMs: Int64, contents: Contents = .all) async throws
        -> MetricsReader.Result?
    {
        guard let (parts, end) = layout(windowMs: windowMs, at: timeMs) else { return nil }
        var data = WindowData()
        // Where each part's slider ends at the last step: its window there is kept for the next query.
        let final = layout(windowMs: windowMs, at: endMs)?.parts ?? []
        for (i, part) in parts.enumerated() {
            let finalBucket = final.first { $0.kind == part.kind && $0.count == part.count }?.last
            guard
                let read = try await slider(part.kind, service, part.count, contents, finalBucket: finalBucket)
                    .window(endingAt: part.last)
            else { return nil }
            if i == 0 { data = read } else { data.merge(read) }
        }
        return MetricsReader.Result(data: data, timeMs: end)
    }

    /// The buckets of each store a step from `firstStepMs` on may read (``layout(windowMs:at:)``), one more at each
    /// end: what the stamps that check kept steps (``StepResults``) must tell about.
    func stampedBuckets(firstStepMs: Int64) -> (hot: ClosedRange<Int64>, durable: ClosedRange<Int64>) {
        let first = min(max(firstStepMs, MetricsReader.timeRangeMs.lowerBound), MetricsReader.timeRangeMs.upperBound)
        // A window's tail (its last two minutes) reaches back up to 17 buckets from the step.
        let oldestHot = TimeBucket.floorDiv(
            max(oldestHotMs, first - max(maxHotWindowMs, 180_000)), TimeBucket.hotWidthMs)
        let oldestMinute = TimeBucket.floorDiv(first - MetricsReader.maxWindowMs, TimeBucket.durableWidthMs)
        return (
            (min(oldestHot, lastBucket) - 1)...(lastBucket + 1), (min(oldestMinute, lastMinute) - 1)...(lastMinute + 1)
        )
    }

    /// The stamps this range's steps are checked against, polled by `poll` at the first call (before its first
    /// step is evaluated) and the same for every step after.
    func stepStamps(_ poll: () async -> StepResults.Stamps) async -> StepResults.Stamps {
        if let stamps = polledStamps.value { return stamps }
        let stamps = await poll()
        polledStamps.value = stamps
        return stamps
    }

    /// The slider of `part` over `buckets` buckets of `service`.
    private func slider(
        _ part: Part.Kind, _ service: String?, _ buckets: Int64, _ contents: Contents, finalBucket: Int64?
    ) -> WindowSlider {
        let key = Key(part: part, service: service, buckets: buckets, contents: contents)
        return sliders.withLock { sliders in
            if let s = sliders[key] { return s }
            let width = part == .durable ? TimeBucket.durableWidthMs : TimeBucket.hotWidthMs
            // Reading ahead serves the next step only when its window overlaps this one's: with steps further apart
            // than the window the buckets in between are never needed.
            let stepBuckets = (stepMs + width - 1) / width
            let s = WindowSlider(
                store: part == .durable ? durable : hot, service: service, buckets: buckets,
                lastBucket: part == .durable ? lastMinute : lastBucket,
                readAhead: stepBuckets <= buckets ? configuration.readAhead : 0, contents: contents,
                // Buckets reduced to a few series (services' sums, job series) or one service's: kept across queries;
                // not all the series of all services.
                summaries: contents == .all && service == nil ? nil : summaries(part == .durable, contents),
                kept: keptWindows.map {
                    (
                        $0, KeptWindows.Key(part: part, service: service, buckets: buckets, contents: contents),
                        polledStamps, finalBucket
                    )
                },
                configuration: configuration)
            sliders[key] = s
            return s
        }
    }

    /// Steps of this range's windows summed afresh because a bucket changed after it was added (a test's view).
    func refreshes() async -> Int {
        var total = 0
        for slider in sliders.withLock({ Array($0.values) }) { total += await slider.refreshed }
        return total
    }

    /// What the last build of `key` left (nothing the first time: a new label cache), taken out so that the build
    /// changes it in place; ``keep(order:labels:for:)`` puts it back. A build meanwhile starts without it.
    func taken(_ key: SampleMemo.Key) -> (order: [RequestKey]?, labels: RequestSamples.LabelCache?) {
        builds.withLock { $0.removeValue(forKey: key) } ?? (nil, RequestSamples.LabelCache())
    }

    /// Keeps what a build of `key` leaves for the next step.
    func keep(order: [RequestKey]?, labels: RequestSamples.LabelCache?, for key: SampleMemo.Key) {
        builds.withLock { $0[key] = (order, labels) }
    }
}

/// One window of a range query sliding over one store's buckets (see ``RangeWindows``).
actor WindowSlider {
    private let store: any MetricsStore
    private let service: String?
    private let n: Int64
    private let lastBucket: Int64
    private let configuration: RangeWindows.Configuration
    /// Buckets read beyond the step that needs them.
    private let readAhead: Int64
    /// What the window keeps of each bucket.
    private let keeps: RangeWindows.Contents
    /// Where those sums are read from when kept across queries.
    private let summaries: BucketSummaries?
    /// Where the newest window is kept for the next query of it, under which key, and the stamps the query polled
    /// (``KeptWindows``).
    private let kept: (windows: KeptWindows, key: KeptWindows.Key, stamps: PolledStamps, finalBucket: Int64?)?
    /// Whether `sums` was moved on from a kept window without reading the buckets between (the next step sums its
    /// window afresh).
    private var sumsFromKept = false
    /// The window's sum, ending at `sums.newest`.
    private var sums: WindowSums?
    /// The contents of every bucket of `read` (buckets without data left out).
    private var contents: [Int64: WindowData] = [:]
    /// The buckets read so far, one run; nil before the first read.
    private var read: ClosedRange<Int64>?
    /// Series-bucket cells in `contents`.
    private var cells = 0
    /// Set once the window would hold more than the configuration allows: from then on it holds no contents, and
    /// reads each bucket again when it leaves (``rereadStep(to:)``).
    private var rereads = false
    /// While `rereads`, the total of each bucket in the window as it was added (``WindowData/contentTotal``).
    private var added: [Int64: UInt64] = [:]
    /// Steps that summed their window afresh because a bucket had changed since it was added (a test's view).
    private(set) var refreshed = 0
    /// How many buckets were read from the store (a test's view of the sharing).
    private(set) var bucketsRead = 0
    /// The last step asked for: each step waits for the one before it, so that two selections of one step (the two
    /// sides of `a / b`, evaluated concurrently) do not move the window at once across the reads' suspensions. It
    /// holds no step's window: a finished task keeps its result, and a window still held when the next step moves
    /// the sum is a copy of all its series (copy on write).
    private var last: Task<Void, Never>?

    init(
        store: any MetricsStore, service: String?, buckets: Int64, lastBucket: Int64, readAhead: Int64,
        contents: RangeWindows.Contents, summaries: BucketSummaries?,
        kept: (windows: KeptWindows, key: KeptWindows.Key, stamps: PolledStamps, finalBucket: Int64?)? = nil,
        configuration: RangeWindows.Configuration
    ) {
        self.kept = kept
        self.readAhead = readAhead
        self.keeps = contents
        self.summaries = summaries
        self.store = store
        self.service = service
        self.n = buckets
        self.lastBucket = lastBucket
        self.configuration = configuration
    }

    /// The sum of the `n` buckets ending at `k`.
    func window(endingAt k: Int64) async throws -> WindowData? {
        let previous = last
        let task = Task {
            await previous?.value
            return try await self.step(to: k)
        }
        last = Task { _ = try? await task.value }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    private func step(to k: Int64) async throws -> WindowData? {
        if let sums, sums.newest == k { return sums.sums[0] ?? WindowData() }
        guard !rereads else { return try await rereadStep(to: k) }
        if sums == nil, read == nil, let window = try await fromKept(to: k) { return window }
        let range = (k - n + 1)...k
        try await readThrough(range)
        guard !rereads else { return try await rereadStep(to: k) }
        // Taken out of `sums` first, so that moving it changes the one copy of the window's series in place.
        var moving = sumsFromKept ? nil : sums
        sumsFromKept = false
        sums = nil
        if moving != nil, k > moving!.newest, moving!.advance(to: k, contents: contents) {
            sums = moving
        } else {
            // The first step, a step back in time, or contents that do not fit the sum (never expected: a bucket
            // subtracted is the one added): summed afresh.
            sums = WindowSums(shapes: [0: .last(n)], newest: k, sums: [0: WindowData.sum(of: contents, in: range)])
        }
        // Buckets older than the window are not needed again (steps only move forward).
        for b in contents.keys where b < range.lowerBound { forget(b) }
        if let r = read, r.lowerBound < range.lowerBound { read = min(range.lowerBound, r.upperBound)...r.upperBound }
        let window = sums?.sums[0] ?? WindowData()
        keepIfLast(window, at: k, contents: contents)
        return window
    }

    /// The window ending at `k` moved on from the one an earlier query kept (``KeptWindows``), reading only the buckets
    /// that left and entered it since, and its newest buckets again when they changed (live traffic still lands in
    /// them when a query reads them): nil when none is kept, it does not overlap this one, or the query's stamps do
    /// not show its older buckets unchanged since they were read (the window is then read whole).
    private func fromKept(to k: Int64) async throws -> WindowData? {
        guard let kept, let stamps = kept.stamps.value, let entry = kept.windows.entry(kept.key), entry.newest <= k,
            k - entry.newest < n
        else { return nil }
        let durable = kept.key.part == .durable
        let m = min(KeptWindows.newestBuckets, n)
        let newestRange = (entry.newest - m + 1)...entry.newest
        guard
            n == m
                || stamps.unchanged(
                    (entry.newest - n + 1)...(entry.newest - m), durable: durable, since: entry.position)
        else { return nil }
        var data = entry.data
        // The contents of the newest buckets as they are now, and of the buckets entering and leaving.
        var parts = entry.newestContents
        if !stamps.unchanged(newestRange, durable: durable, since: entry.position) {
            // What the kept window added of them is taken out, and what they hold now added.
            for contents in entry.newestContents.values { guard data.subtract(contents) else { return nil } }
            parts = [:]
            for (b, contents) in try await readEach(newestRange) {
                parts[b] = contents
                data.merge(contents)
            }
        }
        var moving = WindowSums(shapes: [0: .last(n)], newest: entry.newest, sums: [0: data])
        if k > entry.newest {
            // The older buckets leaving hold what they held when the kept window added them (unchanged since).
            let leaving = (entry.newest - n + 1)...(k - n)
            var ranges = [(entry.newest + 1)...k]
            if leaving.lowerBound < newestRange.lowerBound {
                ranges.append(leaving.lowerBound...min(leaving.upperBound, newestRange.lowerBound - 1))
            }
            for range in ranges {
                for (b, contents) in try await readEach(range) { parts[b] = contents }
            }
            guard moving.advance(to: k, contents: parts) else { return nil }
        }
        sums = moving
        sumsFromKept = true
        kept.windows.noteStarted()
        let window = moving.sums[0] ?? WindowData()
        keepIfLast(window, at: k, contents: parts)
        return window
    }

    /// Keeps `window` for the next query when `k` is where this slider ends at the range's last step (its newest
    /// window: earlier ones would be copied when the sum moves on) and the query polled stamps before reading anything:
    /// every bucket of it was read after them. `contents` holds (at least) what its newest buckets added to it.
    private func keepIfLast(_ window: WindowData, at k: Int64, contents: [Int64: WindowData]) {
        guard let kept, k == kept.finalBucket, let stamps = kept.stamps.value else { return }
        let durable = kept.key.part == .durable
        let m = min(KeptWindows.newestBuckets, n)
        // Only a window whose older buckets the stamps track can be told unchanged later.
        guard let position = stamps.position(durable: durable),
            n == m || stamps.unchanged((k - n + 1)...(k - m), durable: durable, since: position)
        else { return }
        var newest: [Int64: WindowData] = [:]
        for b in (k - m + 1)...k { newest[b] = contents[b] }
        kept.windows.keep(kept.key, newest: k, data: window, newestContents: newest, position: position)
    }

    /// Reads the buckets of `range` not read yet, and up to `readAhead` more, at most
    /// ``RangeWindows/Configuration/readChunk`` per pipeline; a range that does not continue the run read so far
    /// starts a new one.
    private func readThrough(_ range: ClosedRange<Int64>) async throws {
        if let read, read.contains(range.lowerBound), read.contains(range.upperBound) { return }
        var from = range.lowerBound
        if let read, range.lowerBound >= read.lowerBound, range.lowerBound <= read.upperBound + 1 {
            from = read.upperBound + 1
        } else {
            for b in contents.keys { forget(b) }
            self.read = nil
        }
        let through = max(range.upperBound, min(range.upperBound + readAhead, lastBucket))
        var first = from
        while first <= through {
            let last = min(through, first + configuration.readChunk - 1)
            for (b, data) in try await readEach(first...last) {
                contents[b] = data
                cells += data.requests.count + data.jobs.count + data.logs.count
            }
            self.read = (self.read?.lowerBound ?? from)...last
            guard cells <= configuration.maxCells else {
                rereads = true
                contents = [:]
                sums = nil
                cells = 0
                return
            }
            first = last + 1
        }
    }

    /// A step of a window that holds no contents: the buckets that enter and those that leave are read, and the
    /// leaving ones subtracted when their totals are those added; else (or past a jump longer than the window) the
    /// window is summed afresh, ``Configuration/readChunk`` buckets at a time.
    private func rereadStep(to k: Int64) async throws -> WindowData {
        if var moving = sums, k > moving.newest, k - n < moving.newest {
            let entering = (moving.newest + 1)...k
            let leaving = (moving.newest - n + 1)...(k - n)
            var step: [Int64: WindowData] = [:]
            for range in [leaving, entering] {
                for (b, read) in try await readEach(range) { step[b] = read }
            }
            if leaving.allSatisfy({ (step[$0]?.contentTotal ?? 0) == (added[$0] ?? 0) }) {
                sums = nil
                if moving.advance(to: k, contents: step) {
                    for b in leaving { added[b] = nil }
                    for b in entering { added[b] = step[b]?.contentTotal }
                    sums = moving
                    return moving.sums[0] ?? WindowData()
                }
            }
            refreshed += 1
        }
        var sum = WindowData()
        added = [:]
        sums = nil
        var first = k - n + 1
        while first <= k {
            let last = min(k, first + configuration.readChunk - 1)
            for (b, read) in try await readEach(first...last) {
                added[b] = read.contentTotal
                sum.merge(read)
            }
            first = last + 1
        }
        sums = WindowSums(shapes: [0: .last(n)], newest: k, sums: [0: sum])
        return sum
    }

    /// The buckets of `range` that hold data, as this window keeps them.
    private func readEach(_ range: ClosedRange<Int64>) async throws -> [(Int64, WindowData)] {
        bucketsRead += range.count
        if let summaries, let kept = try await summaries.readEach(service: service, range) { return kept }
        let fresh = try await store.readEach(service: service, buckets: range)
        return fresh.map { ($0.0, keeps.kept(of: $0.1)) }
    }

    private func forget(_ b: Int64) {
        guard let data = contents.removeValue(forKey: b) else { return }
        cells -= data.requests.count + data.jobs.count + data.logs.count
    }
}

extension WindowData {
    /// Every count this data holds, added up (wrapping): requests, errors, status classes and latency samples, job
    /// events, durations and waits, log lines. Each write to a bucket adds to at least one of them, so a bucket whose
    /// total did not change was not written to.
    var contentTotal: UInt64 {
        var total: UInt64 = 0
        for s in requests.values {
            total &+= s.count &+ s.errors &+ s.class1xx &+ s.class2xx &+ s.class3xx &+ s.class4xx &+ s.class5xx
            total &+= s.latency.count
        }
        for s in jobs.values {
            total &+= s.enqueued &+ s.started &+ s.succeeded &+ s.failed &+ s.retried
            total &+= s.duration.count &+ s.wait.count &+ s.waitRetracted.count
        }
        for s in logs.values { total &+= s.debug &+ s.info &+ s.warn &+ s.error &+ s.fatal }
        return total
    }

    /// Each service's requests summed into one series (route and method empty), and nothing else.
    func summedPerService() -> WindowData {
        var out = WindowData()
        for (service, stats) in requestsByService() {
            out.requests[RequestKey(service: service, route: "", method: "")] = stats
        }
        return out
    }
}
