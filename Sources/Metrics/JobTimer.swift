import CoreMetrics
import Synchronization

/// A swift-metrics timer whose every recording is a `kind: job` event (`succeeded` unless the series says otherwise).
///
/// Without a `job_id` dimension each recording gets its own id (`<label>-<n>`): a duration sample needs
/// none to be paired with, and the collector requires one.
final class JobTimer: TimerHandler {
    private let emitter: OpsightEmitter
    private let queue: String
    private let job: String
    private let jobID: String?
    private let event: JobEventType
    private let attempt: Int?
    private let fields: [String: FieldValue]
    private let idPrefix: String
    private let sequence = Atomic<Int>(0)

    /// Creates a timer for one queue/job series.
    init(
        emitter: OpsightEmitter,
        label: String,
        queue: String,
        job: String,
        jobID: String?,
        event: JobEventType,
        attempt: Int?,
        fields: [String: FieldValue]
    ) {
        self.emitter = emitter
        self.queue = queue
        self.job = job
        self.jobID = jobID
        self.event = event
        self.attempt = attempt
        self.fields = fields
        self.idPrefix = label + "-"
    }

    /// Emits one job event with this duration.
    func recordNanoseconds(_ duration: Int64) {
        let id = jobID ?? idPrefix + String(sequence.wrappingAdd(1, ordering: .relaxed).newValue)
        emitter.job(
            queue: queue, job: job, jobID: id, event: event, duration: .nanoseconds(duration), attempt: attempt,
            fields: fields)
    }
}
