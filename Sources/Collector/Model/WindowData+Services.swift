import OpsightMetrics

extension WindowData {
    /// The request series merged per service (latency sketches too unless `latency` is false).
    ///
    /// With 10 000 series this is what an overview request spends its time on, so counts are added field by
    /// field and sketches through a ``LogSketchAccumulator`` rather than with `RequestStats.merge`.
    public func requestsByService(latency: Bool = true) -> [String: RequestStats] {
        // One series per service (a window already summed per service: what range queries of the service families
        // slide): each series is its service's sum. Summing them again rebuilt every sketch at every step.
        var single: [String: RequestStats] = [:]
        single.reserveCapacity(requests.count)
        for (k, s) in requests {
            var sum = s
            if !latency { sum.latency = LogSketch() }
            guard single.updateValue(sum, forKey: k.service) == nil else { break }
        }
        if single.count == requests.count { return single }
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
