import Synchronization

/// Opsight's own families (ingest, WAL, flush, alerting, delivery): each component registers what it counts here,
/// and `/metrics`, PromQL and rules read them through the query model like every other family.
public final class SelfMetrics: Sendable {
    /// One sample of a family: labels (without `__name__`) and value.
    public typealias Sample = (labels: [(String, String)], value: Double)

    /// A registered family and how to read its current samples.
    struct Family: Sendable {
        var name: String
        var type: String
        var help: String
        var samples: @Sendable () -> [Sample]
    }

    private let families = Mutex<[Family]>([])

    /// An empty registry.
    public init() {}

    /// Registers family `name`; `samples` is read at every exposition or query of it.
    public func register(
        _ name: String, type: String, help: String, samples: @escaping @Sendable () -> [Sample]
    ) {
        families.withLock { $0.append(Family(name: name, type: type, help: help, samples: samples)) }
    }

    /// Registers a family of one unlabelled sample.
    public func register(_ name: String, type: String, help: String, value: @escaping @Sendable () -> Double) {
        register(name, type: type, help: help) { [([], value())] }
    }

    /// Names of the registered families.
    public var names: Set<String> { Set(families.withLock { $0.map(\.name) }) }

    /// Writes the registered families (only `name` when given).
    func write(to sink: inout some SampleSink, only name: String?) {
        for family in families.withLock({ $0 }) where name == nil || family.name == name {
            let samples = family.samples()
            // A family with nothing to report yet (no notification sent) is left out, not written empty.
            guard !samples.isEmpty else { continue }
            sink.family(family.name, type: family.type, help: family.help)
            for sample in samples { sink.sample(family.name, labels: sample.labels, sample.value) }
        }
    }
}
