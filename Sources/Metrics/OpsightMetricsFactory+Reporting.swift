extension OpsightMetricsFactory {
    /// Writes one `kind: log` event per aggregated series with its current value (see the type's mapping).
    public func reportSnapshot() {
        let metrics = aggregates.withLock { Array($0.values) }
        for metric in metrics {
            guard let values = metric.takeSnapshot() else { continue }
            var fields = metric.series.fields(excluding: [])
            fields.merge(values) { _, value in value }
            fields["metric"] = .string(metric.series.label)
            fields["metric_type"] = .string(metric.typeName)
            emitter.log(level: .info, message: "metric", fields: fields)
        }
    }

    /// Reports aggregated series every ``Configuration/reportInterval`` until cancelled, then once more.
    public func run() async {
        await run(clock)
    }

    /// The loop behind ``run()``, with the clock's concrete type opened.
    private func run<C: Clock<Duration>>(_ clock: C) async {
        var next = clock.now.advanced(by: configuration.reportInterval)
        while !Task.isCancelled {
            do {
                try await clock.sleep(until: next, tolerance: nil)
            } catch {
                break
            }
            reportSnapshot()
            next = next.advanced(by: configuration.reportInterval)
        }
        reportSnapshot()
    }
}
