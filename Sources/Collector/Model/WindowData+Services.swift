import OpsightMetrics

extension WindowData {
    /// The request series merged per service (latency sketches too unless `latency` is false).
    ///
    /// With 10 000 series this is what an overview request spends its time on, so counts are added field by
    /// field and sketches through a ``LogSketchAccumulator`` rather than with `RequestStats.merge`.
    public func requestsByService(latency: Bool = true) -> [String: RequestStats] {
        var counts: [String: RequestStats] = [:]
        var sketches: [String: LogSketchAccumulator] = [:]
        for (k, s) in requests {
            counts[k.service, default: RequestStats()].addCounts(of: s)
            if latency { sketches[k.service, default: LogSketchAccumulator()].add(s.latency) }
        }
        for (service, acc) in sketches { counts[service]?.latency = acc.sketch }
        return counts
    }
}
