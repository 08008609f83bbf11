import CoreMetrics

/// A swift-metrics timer whose every recording is a `kind: request` event.
final class RequestTimer: TimerHandler {
    private let emitter: OpsightEmitter
    private let route: String
    private let method: String
    private let status: Int
    private let fields: [String: FieldValue]

    /// Creates a timer for one route/method/status series; other dimensions become extra fields.
    init(emitter: OpsightEmitter, route: String, method: String, status: Int, fields: [String: FieldValue]) {
        self.emitter = emitter
        self.route = route
        self.method = method
        self.status = status
        self.fields = fields
    }

    /// Emits one request event with this duration.
    func recordNanoseconds(_ duration: Int64) {
        emitter.request(route: route, method: method, status: status, duration: .nanoseconds(duration), fields: fields)
    }
}
