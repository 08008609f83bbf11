import CoreMetrics

/// A swift-metrics counter with an `entity` dimension: each increment is a `kind: event` (funnel) event
/// named by the label, with `count` when it is not 1.
final class FunnelCounter: CounterHandler {
    private let emitter: OpsightEmitter
    private let event: String
    private let entity: String
    private let fields: [String: FieldValue]

    /// Creates a counter for one event/entity series.
    init(emitter: OpsightEmitter, event: String, entity: String, fields: [String: FieldValue]) {
        self.emitter = emitter
        self.event = event
        self.entity = entity
        self.fields = fields
    }

    /// Emits one funnel event.
    func increment(by amount: Int64) {
        guard amount > 0 else { return }
        var fields = fields
        if amount != 1 { fields["count"] = .int(amount) }
        emitter.funnel(event: event, entity: entity, fields: fields)
    }

    /// Events already sent cannot be taken back: nothing to reset.
    func reset() {}
}
