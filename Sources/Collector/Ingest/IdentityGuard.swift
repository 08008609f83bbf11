import OpsightMetrics
import Synchronization

/// Cardinality guards for the identity fields besides routes: at most `services` services, `queuesPerService`
/// queues per service and `jobsPerQueue` job types per queue; values past a limit fold into `__other__`.
///
/// Every distinct value is a series in Redis and PostgreSQL and a label set in `/metrics`; a sender that puts an
/// id or a timestamp into `service` or `job` would otherwise grow them without bound. Like ``RouteGuard`` it runs
/// before the write-ahead log, so the log holds folded values and a replay folds nothing again; values seen in the
/// log at start are remembered first, so a restart does not reshuffle them.
public final class IdentityGuard: Sendable {
    /// The value that takes every value past a limit.
    public static let other = RouteGuard.otherRoute

    /// The limits.
    public struct Limits: Sendable, Equatable {
        public var services: Int
        public var queuesPerService: Int
        public var jobsPerQueue: Int
        /// Creates the limits; the defaults are generous for real deployments and small for runaway ones.
        public init(services: Int = 1_000, queuesPerService: Int = 100, jobsPerQueue: Int = 200) {
            self.services = services
            self.queuesPerService = queuesPerService
            self.jobsPerQueue = jobsPerQueue
        }
    }

    /// How many events had a field folded, by field.
    public struct Folded: Sendable, Equatable {
        public var services = 0
        public var queues = 0
        public var jobs = 0
        public var isEmpty: Bool { services == 0 && queues == 0 && jobs == 0 }
    }

    private struct Known {
        var services: Set<String> = []
        var queues: [String: Set<String>] = [:]
        /// Keyed by service and queue.
        var jobs: [QueueKey: Set<String>] = [:]
    }

    private struct QueueKey: Hashable {
        var service: String
        var queue: String
    }

    private let limits: Limits
    private let known = Mutex(Known())

    /// A guard with `limits`.
    public init(limits: Limits) {
        self.limits = limits
    }

    /// Remembers the values of `events` (read back from the log at start) as known, past the limits too: they
    /// are in the stores already.
    public func seed(_ events: [Event]) {
        known.withLock { k in
            for e in events where e.service != Self.other {
                k.services.insert(e.service)
                guard e.kind == .job, let queue = e.queue, queue != Self.other else { continue }
                k.queues[e.service, default: []].insert(queue)
                if let job = e.job, job != Self.other {
                    k.jobs[QueueKey(service: e.service, queue: queue), default: []].insert(job)
                }
            }
        }
    }

    /// Folds the service of every event, and the queue and job of job events, in place.
    public func apply(to events: inout [Event]) -> Folded { apply(to: &events, at: events.indices) }

    /// Folds the fields of the events at `indices` (in that order) in place, as ``apply(to:)`` does.
    public func apply(to events: inout [Event], at indices: some Sequence<Int>) -> Folded {
        var folded = Folded()
        known.withLock { k in
            for i in indices {
                if !k.services.admit(events[i].service, limit: limits.services) {
                    events[i].service = Self.other
                    folded.services += 1
                }
                guard events[i].kind == .job, let queue = events[i].queue else { continue }
                let service = events[i].service
                if !k.queues[service, default: []].admit(queue, limit: limits.queuesPerService) {
                    events[i].queue = Self.other
                    folded.queues += 1
                }
                guard let job = events[i].job else { continue }
                let key = QueueKey(service: service, queue: events[i].queue ?? queue)
                if !k.jobs[key, default: []].admit(job, limit: limits.jobsPerQueue) {
                    events[i].job = Self.other
                    folded.jobs += 1
                }
            }
        }
        return folded
    }
}
