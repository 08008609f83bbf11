import Collector
import NIOCore
import OpsightMetrics
import PromQL

/// The series of SPEC §6 at one evaluation time: the one read path behind `/metrics`, the Prometheus-compatible
/// API and alert rules (as a `SampleSource`), so every reader sees the same families built the same way.
///
/// Equality matchers on `__name__`, `window`, `service`, `funnel` and `quantile` narrow what is read: only the
/// windows asked for are read, and a `quantile` other than the defaults is computed on demand (any q works). The
/// counters and self-metrics are current values, so they exist only at evaluation times within a minute of now.
public struct MetricFamilies: SampleSource {
    /// What the families hold.
    public struct Configuration: Sendable {
        /// Windows of the windowed families, in milliseconds.
        public var windowsMs: [Int64]
        /// Quantiles of the latency families.
        public var quantiles: [Double]
        /// Whether selections keep the samples they build for the next read of the same cached window
        /// (``SampleMemo``); off, every selection builds them.
        public var memoizesSamples = true
        /// How long a rendered `/metrics` window stays for the scrapes that follow (``ExpositionCache``).
        public var renderKeep: Duration = .seconds(2)
        /// Creates the configuration.
        public init(
            windowsMs: [Int64] = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000],
            quantiles: [Double] = [0.5, 0.95, 0.99]
        ) {
            self.windowsMs = windowsMs
            self.quantiles = quantiles
        }
    }

    /// Which families, windows, services and quantiles one read builds.
    public struct Selection: Sendable {
        /// The one family to build (nil: all).
        public var name: String?
        /// Windows to read (nil: the configured ones).
        public var windowsMs: [Int64]?
        /// The one service to read (nil: all).
        public var service: String?
        /// The one funnel to read (nil: all).
        public var funnel: String?
        /// Quantiles to compute (nil: the configured ones).
        public var quantiles: [Double]?
        /// Everything.
        public static let all = Selection()
    }

    public let configuration: Configuration
    let reader: MetricsReader
    private let totals: any MetricsStore
    private let funnels: FunnelReader?
    private let selfMetrics: SelfMetrics
    private let clock: WallClock
    /// The samples last built per windowed family, window and quantiles (see ``SampleMemo``).
    let memo: SampleMemo
    /// The windowed families of `/metrics` last rendered per window (see ``ExpositionCache``).
    let renderedWindows: ExpositionCache
    /// The windows of the range query these families answer the steps of (``forRange(start:end:step:)``).
    private var range: RangeWindows?
    /// Range queries' step results kept across queries (see ``StepResults``).
    let stepResults: StepResults
    /// What the step these families evaluate read (``step(_:at:)``); nil outside a range's step.
    private var stepReads: StepResults.Reads?

    /// Creates the families over `reader` (windows), `totals` (the running counters), `funnels` and the
    /// registered self-metrics.
    public init(
        configuration: Configuration, reader: MetricsReader, totals: any MetricsStore, funnels: FunnelReader? = nil,
        selfMetrics: SelfMetrics, clock: WallClock = .system
    ) {
        self.configuration = configuration
        self.reader = reader
        self.totals = totals
        self.funnels = funnels
        self.selfMetrics = selfMetrics
        self.clock = clock
        self.memo = SampleMemo()
        self.renderedWindows = ExpositionCache(keepFor: configuration.renderKeep)
        self.stepResults = StepResults()
    }

    /// Names of the windowed families.
    static let windowedNames: Set<String> = [
        "opsight_request_latency_seconds", "opsight_request_rate", "opsight_request_error_ratio",
        "opsight_service_latency_seconds", "opsight_service_request_rate", "opsight_service_error_ratio",
        "opsight_job_duration_seconds", "opsight_job_wait_seconds", "opsight_job_failure_ratio",
    ]
    static let counterNames: Set<String> = ["opsight_requests_total", "opsight_jobs_total", "opsight_log_lines_total"]
    static let seriesName = "opsight_series"

    /// The whole exposition at the current time, in the text format.
    public func exposition() async throws -> String {
        String(decoding: try await expositionBytes(), as: UTF8.self)
    }

    /// ``exposition()`` as UTF-8 bytes.
    public func expositionBytes() async throws -> [UInt8] {
        try await expositionChunks().flatMap { $0.readableBytesView }
    }

    /// ``expositionBytes()`` in pieces, as `/metrics` sends it: the bytes are those of ``write(to:at:selection:
    /// ordered:)`` into a ``PrometheusText`` (the reference), but the windowed families come from the cache of
    /// rendered windows (``ExpositionCache``) and every other family is written straight into bytes.
    ///
    /// `windowsMs` narrows the windowed and funnel families to some of the configured windows (`/metrics?window=`),
    /// in the configured order; the counters, `opsight_series` and the self-metrics are in every exposition.
    public func expositionChunks(windowsMs selected: [Int64]? = nil) async throws -> [ByteBuffer] {
        let time = EvaluationTime.now(clock.nowMs())
        let windows = selected.map { s in configuration.windowsMs.filter(s.contains) } ?? configuration.windowsMs
        // As ``write(to:at:selection:ordered:)``: `opsight_series` counts the series of the last hour.
        var read = windows
        if !read.contains(where: { $0 <= 3_600_000 }) { read.append(3_600_000) }
        // The windows in Redis, the counters and the funnels (which wait for their cache's poll of PostgreSQL and
        // evaluate every funnel's records, 5–15 ms at the query bench's corpus) start before the long windows' parts
        // are looked up rather than after: the hot reads, the counters and a long window's hot tail then share one
        // poll of the hot cache instead of waiting for one each in turn.
        let hot = reader.maxHotWindowMs
        async let hotReads = readResults(read.filter { $0 <= hot }, service: nil, at: time)
        async let counters = renderedWindows.counters { try await currentTotals() }
        async let funnelText = funnelExposition(windowsMs: windows, at: time)
        // Long windows as their two cached parts, rendered without summing them (``WindowBlocks``); any other
        // window, or a long one whose parts are not both kept, read whole. Side by side, so that they share the
        // caches' polls too.
        let parts = try await withThrowingTaskGroup(of: (Int64, MetricsReader.LongParts?).self) { group in
            for w in windows where w > hot {
                group.addTask { [reader] in (w, try await reader.longParts(windowMs: w)) }
            }
            var out: [Int64: MetricsReader.LongParts] = [:]
            for try await (w, p) in group { out[w] = p }
            return out
        }
        let longReads = try await readResults(read.filter { $0 > hot && parts[$0] == nil }, service: nil, at: time)
        var results = try await hotReads
        results = (results + longReads).sorted { $0.0 < $1.0 }
        var inputs = results.filter { windows.contains($0.0) }.map { ($0.0, ExpositionCache.Window($0.1)) }
        inputs += parts.map { ($0.key, ExpositionCache.Window($0.value)) }
        inputs.sort { $0.0 < $1.0 }
        let blocks = await renderedWindows.blocks(inputs, quantiles: configuration.quantiles) { [reader] w, from, to in
            await reader.changedSeries(windowMs: w, from: from, to: to)
        }

        var chunks: [ByteBuffer] = []
        for (f, family) in WindowBlocks.families.enumerated() {
            var header = ExpositionWriter()
            header.family(family.name, type: family.type, help: family.help)
            chunks.append(header.buffer)
            chunks += blocks.flatMap { $0.pieces[f] }
        }
        chunks.append(ByteBuffer(bytes: try await funnelText.bytes))
        chunks.append(try await counters)
        var rest = PrometheusText()
        let series = results.last { $0.0 <= 3_600_000 }?.1.data ?? WindowData()
        Self.writeSeriesCounts(of: series, to: &rest)
        selfMetrics.write(to: &rest, only: nil)
        chunks.append(ByteBuffer(bytes: rest.bytes))
        return chunks.filter { $0.readableBytes > 0 }
    }

    /// The funnel families over `windowsMs` (those a window can be), as the exposition writes them.
    private func funnelExposition(windowsMs: [Int64], at time: EvaluationTime) async throws -> PrometheusText {
        var text = PrometheusText()
        guard let funnels, !funnels.funnels.isEmpty else { return text }
        let figures = try await funnels.allFigures(
            windowsMs: windowsMs.filter { $0 > 0 && $0 <= MetricsReader.maxWindowMs }, at: time)
        FunnelFamilies(figures: figures, quantiles: FunnelFamilies.defaultQuantiles).write(to: &text)
        return text
    }

    /// One selector per family `matchers` may select and, for the windowed and funnel families, per configured window
    /// it may select: every sample has one of these names, and a windowed one one of these windows. At 10 000 request
    /// series all windows are ~300 000 series and one window ~55 000; one family's window is at most 30 000.
    public func coveringSelectors(_ matchers: [LabelMatcher]) -> [[LabelMatcher]] {
        let windowed = Self.windowedNames.union(FunnelFamilies.names)
        let names = windowed.union(Self.counterNames).union([Self.seriesName]).union(selfMetrics.names)
        let windows = configuration.windowsMs.map(PromDuration.format)
        var out: [[LabelMatcher]] = []
        for name in names.sorted() {
            guard matchers.allSatisfy({ $0.name != Labels.metricName || $0.matches(name) }),
                let named = try? LabelMatcher(name: Labels.metricName, op: .equal, value: name)
            else { continue }
            guard windowed.contains(name), !selfMetrics.names.contains(name) else {
                out.append(matchers + [named])
                continue
            }
            for w in windows where matchers.allSatisfy({ $0.name != "window" || $0.matches(w) }) {
                if let window = try? LabelMatcher(name: "window", op: .equal, value: w) {
                    out.append(matchers + [named, window])
                }
            }
        }
        return out
    }

    /// The same families, reading the windows of the range's steps by sliding them over the stores' buckets
    /// (``RangeWindows``): the same series at every step, each bucket read once.
    public func forRange(start: Int64, end: Int64, step: Int64) -> any SampleSource {
        var families = self
        families.range = reader.rangeWindows(endMs: end, stepMs: step)
        return families
    }

    /// A range's step: the result an earlier query kept (``StepResults``) when still valid, else these families with
    /// a note of what the step reads, and the result kept after.
    public func step(_ query: String, at time: Int64) async throws -> RangeStep {
        guard let range else { return .evaluate(source: self, keep: nil) }
        let stamps = await range.stepStamps {
            let (hot, durable) = range.stampedBuckets(firstStepMs: time)
            return await reader.bucketStamps(hot: hot, durable: durable)
        }
        guard stamps.hot != nil || stamps.durable != nil else { return .evaluate(source: self, keep: nil) }
        let key = StepResults.Key(query: query, timeMs: time)
        let layout: @Sendable (Int64) -> [RangeWindows.Part]? = { range.layout(windowMs: $0, at: time)?.parts }
        if let kept = stepResults.result(key, stamps: stamps, layout: layout) { return .kept(kept) }
        // Another query evaluating the step is waited for: its result, when still valid for this query's stamps.
        let claim = await stepResults.claim(key)
        if claim == nil, let kept = stepResults.result(key, stamps: stamps, layout: layout) { return .kept(kept) }
        var families = self
        let reads = StepResults.Reads()
        families.stepReads = reads
        return .evaluate(source: families) { [stepResults] samples in
            stepResults.keep(key, samples: samples, reads: reads, stamps: stamps, layout: layout)
            // Held until the result is kept (or the evaluation ends otherwise and this closure is let go).
            withExtendedLifetime(claim) {}
        }
    }

    public func select(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> [Sample] {
        try await selectOrdered(matchers, at: time).samples
    }

    public func selectOrdered(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> (
        samples: [Sample], sorted: Bool
    ) {
        func equal(_ name: String) -> String? { matchers.first { $0.name == name && $0.op == .equal }?.value }
        var selection = Selection(name: equal(Labels.metricName), service: equal("service"), funnel: equal("funnel"))
        // `window=""` is the series without a window (an absent label is the empty value): the counters, the
        // self-metrics; no window is read. Any other window that is no duration selects nothing.
        if let w = equal("window") {
            if w.isEmpty {
                selection.windowsMs = []
            } else {
                guard let ms = PromDuration.milliseconds(w), ms > 0 else { return ([], true) }
                selection.windowsMs = [ms]
            }
        }
        selection.quantiles = equal("quantile").flatMap(Double.init).flatMap { (0...1).contains($0) ? [$0] : nil }
        // A step reading anything but windowed families (read in windows it notes) is not kept.
        if let stepReads,
            !(selection.name.map(Self.windowedNames.contains) ?? false)
                || selection.name.map(selfMetrics.names.contains) ?? true
        {
            stepReads.noteUnchecked()
        }
        // One windowed family of all services now (every shape of the dashboards and rules): from the windows'
        // versions. A self-metric registered under the same name would be written besides, so it is built instead.
        // The steps of a range query build them the same way, in label order, the series order kept from step to step.
        if configuration.memoizesSamples, time.isNow || range != nil, selection.service == nil,
            let name = selection.name,
            Self.windowedNames.contains(name), !selfMetrics.names.contains(name)
        {
            return try await windowedSamples(name, selection: selection, matchers: matchers, at: time)
        }
        var list = SampleList()
        try await write(to: &list, at: time, selection: selection, ordered: false)
        let samples = list.samples.compactMap { s in
            let labels = Labels(s.labels + [(Labels.metricName, s.name)])
            return matchers.allSatisfy { $0.matches(labels) } ? Sample(labels: labels, value: s.value) : nil
        }
        return (samples, false)
    }

    /// The samples of windowed family `name` for all services at the current `time` that satisfy `matchers`: per
    /// window, the memo's when the window's version is the one they were built from, else built as ``write(to:at:
    /// selection:ordered:)`` builds them. Only the matchers some sample may fail are applied. The samples are in label
    /// order when they are one window's.
    private func windowedSamples(
        _ name: String, selection: Selection, matchers: [LabelMatcher], at time: EvaluationTime
    ) async throws -> (samples: [Sample], sorted: Bool) {
        let quantiles = selection.quantiles ?? configuration.quantiles
        var parts: [[Sample]] = []
        let windows = selection.windowsMs ?? configuration.windowsMs
        // A request family's long windows at the current time as their two cached parts, built without summing them
        // (``RequestSamples/build(name:windowMs:data:tail:quantiles:previousOrder:labelCache:)``); every other
        // window, or a long one whose parts are not both kept, read whole.
        var longParts: [Int64: MetricsReader.LongParts] = [:]
        if time.isNow, range == nil, RequestSamples.names.contains(name) {
            for w in Set(windows) { longParts[w] = try await reader.longParts(windowMs: w) }
        }
        var results = try await readResults(
            windows.filter { longParts[$0] == nil }, service: nil, at: time,
            contents: Self.rangeContents(of: name)
        ).map { (w: $0.0, data: $0.1.data, tail: WindowData?.none, version: $0.1.version) }
        results += longParts.map {
            (w: $0.key, data: $0.value.cold.data, tail: $0.value.tail.data, version: $0.value.version)
        }
        results.sort { $0.w < $1.w }
        for (w, data, tail, version) in results {
            let key = SampleMemo.Key(name: name, windowMs: w, quantiles: quantiles)
            let entry: SampleMemo.Entry
            if let version, let hit = memo.entry(key, version: version) {
                entry = hit
            } else if RequestSamples.names.contains(name),
                let built = buildRequestSamples(name, key: key, data: data, tail: tail)
            {
                memo.noteBuild()
                var constant = [Labels.metricName: name, "window": PromDuration.format(w)]
                if quantiles.count == 1, name == "opsight_request_latency_seconds" {
                    constant["quantile"] = PrometheusText.format(quantiles[0])
                }
                // Sorted by method first: one method at both ends is one method for all.
                if let first = built.order.first, first.method == built.order.last?.method {
                    constant["method"] = first.method
                }
                entry = SampleMemo.Entry(built, constantLabels: constant)
                if let version { memo.store(entry, for: key, version: version) }
            } else {
                memo.noteBuild()
                var whole = data
                if let tail { whole.merge(tail) }
                var list = SampleList()
                WindowFamilies(windows: [(w, whole)], quantiles: quantiles, only: name, ordered: false)
                    .write(to: &list)
                let samples = list.samples.map { s in
                    Sample(labels: Labels(s.labels + [(Labels.metricName, s.name)]), value: s.value)
                }
                // In label order, as the evaluator wants a selection: sorted once per version, not once per query.
                entry = SampleMemo.Entry(samples: samples.sorted { $0.labels < $1.labels })
                if let version { memo.store(entry, for: key, version: version) }
            }
            parts.append(LabelMatcher.filter(entry.samples, matchers.filter { !entry.alwaysSatisfies($0) }))
        }
        // One window's samples are sorted, and a filter keeps their order; several windows' are not, together.
        return parts.count == 1 ? (parts[0], true) : (parts.flatMap { $0 }, parts.count == 0)
    }

    /// ``RequestSamples/build(name:windowMs:data:tail:quantiles:previousOrder:labelCache:)`` of `key`'s family, window
    /// and quantiles: in the last build's order when the series are the same, and for a range query's steps with the
    /// labels its earlier steps built.
    private func buildRequestSamples(_ name: String, key: SampleMemo.Key, data: WindowData, tail: WindowData?)
        -> RequestSamples.Built?
    {
        guard let range else {
            return RequestSamples.build(
                name: name, windowMs: key.windowMs, data: data, tail: tail, quantiles: key.quantiles,
                previousOrder: memo.lastOrder(key))
        }
        var (order, labels) = range.taken(key)
        let built = RequestSamples.build(
            name: name, windowMs: key.windowMs, data: data, tail: tail, quantiles: key.quantiles, previousOrder: order,
            labelCache: &labels)
        range.keep(order: built?.order ?? order, labels: labels, for: key)
        return built
    }

    /// Writes the selected families at `time` to `sink`, their series in label order unless `ordered` is false (a
    /// PromQL selection, which the evaluator sorts in its own order).
    func write(
        to sink: inout some SampleSink, at time: EvaluationTime, selection: Selection, ordered: Bool = true
    ) async throws {
        let name = selection.name
        func wants(_ names: Set<String>) -> Bool { name.map(names.contains) ?? true }
        let windows = selection.windowsMs ?? configuration.windowsMs
        let current = time.isNow || abs(time.milliseconds - clock.nowMs()) <= 60_000
        // `opsight_series` counts the series of the last hour (or of the longest window up to an hour read anyway).
        let wantsSeries = current && wants([Self.seriesName])
        var read = wants(Self.windowedNames) ? windows : []
        if wantsSeries && !read.contains(where: { $0 <= 3_600_000 }) { read.append(3_600_000) }
        let data = try await readWindows(
            read, service: selection.service, at: time, contents: Self.rangeContents(of: name))
        if wants(Self.windowedNames) {
            WindowFamilies(
                windows: data.filter { windows.contains($0.0) },
                quantiles: selection.quantiles ?? configuration.quantiles,
                only: name, ordered: ordered
            ).write(to: &sink)
        }
        if let funnels, !funnels.funnels.isEmpty, wants(FunnelFamilies.names) {
            let figures = try await funnels.allFigures(
                windowsMs: windows.filter { $0 > 0 && $0 <= MetricsReader.maxWindowMs }, at: time,
                name: selection.funnel)
            FunnelFamilies(
                figures: figures, quantiles: selection.quantiles ?? FunnelFamilies.defaultQuantiles, only: name
            ).write(to: &sink)
        }
        guard current else { return }
        if wants(Self.counterNames) {
            CounterFamilies(totals: try await currentTotals().data, only: name, ordered: ordered).write(to: &sink)
        }
        if wantsSeries {
            let series = data.last { $0.0 <= 3_600_000 }?.1 ?? WindowData()
            Self.writeSeriesCounts(of: series, to: &sink)
        }
        selfMetrics.write(to: &sink, only: name)
    }

    /// The running totals including every commit made before the call: the hot cache's when it keeps them (with
    /// their version), else read from the store (no version). A failed poll of the cache leaves the answer to the
    /// store's read, which reports the store's error, as for the windows.
    func currentTotals() async throws -> (data: WindowData, version: UInt64?) {
        if let kept = try? await reader.cachedTotals() { return (kept.data, kept.version) }
        return (try await totals.totals(), nil)
    }

    /// `opsight_series`: the request, job and log series of `series` (the last hour's window).
    static func writeSeriesCounts(of series: WindowData, to sink: inout some SampleSink) {
        sink.family(seriesName, type: "gauge", help: "Series with data in the last hour, by kind.")
        sink.sample(seriesName, ["kind": "request"], Double(series.requests.count))
        sink.sample(seriesName, ["kind": "job"], Double(series.jobs.count))
        sink.sample(seriesName, ["kind": "log"], Double(series.logs.count))
    }

    /// The windows `windowsMs` at `time`, read concurrently, in ascending order; windows off the grid have no
    /// series and are left out.
    private func readWindows(
        _ windowsMs: [Int64], service: String?, at time: EvaluationTime, contents: RangeWindows.Contents = .all
    ) async throws -> [(Int64, WindowData)] {
        try await readResults(windowsMs, service: service, at: time, contents: contents).map { ($0.0, $0.1.data) }
    }

    /// The families summed per service (``WindowData/requestsByService(latency:)``).
    static let serviceNames: Set<String> = [
        "opsight_service_latency_seconds", "opsight_service_request_rate", "opsight_service_error_ratio",
    ]

    /// The job families.
    static let jobNames: Set<String> = [
        "opsight_job_duration_seconds", "opsight_job_wait_seconds", "opsight_job_failure_ratio",
    ]

    /// What a range's windows need of each bucket for family `name` (nil: every family).
    static func rangeContents(of name: String?) -> RangeWindows.Contents {
        guard let name else { return .all }
        if serviceNames.contains(name) { return .serviceSums }
        if jobNames.contains(name) { return .jobs }
        return .all
    }

    /// ``readWindows(_:service:at:)`` with each read's time and version. With `contents` other than ``RangeWindows/
    /// Contents/all`` (only the service or the job families are wanted) a range's steps may answer with only what
    /// those are made of: a window of all the series' buckets is then 20 services' sums, or the job series alone.
    func readResults(
        _ windowsMs: [Int64], service: String?, at time: EvaluationTime, contents: RangeWindows.Contents = .all
    ) async throws -> [(Int64, MetricsReader.Result)] {
        try await withThrowingTaskGroup(of: (Int64, MetricsReader.Result)?.self) { group in
            for w in Set(windowsMs) {
                group.addTask { [range, stepReads] in
                    do {
                        if !time.isNow, let range,
                            let slid = try await range.window(
                                service: service, windowMs: w, at: time.milliseconds, contents: contents)
                        {
                            if let stepReads, let layout = range.layout(windowMs: w, at: time.milliseconds) {
                                stepReads.note(windowMs: w, parts: layout.parts)
                            } else {
                                stepReads?.noteUnchecked()
                            }
                            return (w, slid)
                        }
                        stepReads?.noteUnchecked()
                        return (w, try await reader.window(service: service, windowMs: w, at: time))
                    } catch let error as CollectorError where error.code == .invalid {
                        return nil
                    }
                }
            }
            var out: [(Int64, MetricsReader.Result)] = []
            for try await r in group { if let r { out.append(r) } }
            return out.sorted { $0.0 < $1.0 }
        }
    }
}
