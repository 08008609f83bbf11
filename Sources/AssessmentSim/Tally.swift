import Foundation
import Synchronization

/// How a journey ended.
enum JourneyEnd: String, Sendable {
    case started, completed, abandoned, failed
    case assessmentFailed = "assessment_failed"
}

/// What the simulator saw: answers by route, method and status; transport errors; journeys by outcome.
final class Tally: Sendable {
    private struct State {
        var requests: [String: [String: [Int: Int]]] = [:]
        var errors: [String: Int] = [:]
        var lastError: String?
        var journeys: [String: Int] = [:]
        /// Distinct users per funnel step the service confirmed (its funnel events go out on those answers).
        var funnelUsers: [String: Set<String>] = [:]
    }
    private let state = Mutex(State())

    /// Counts an answered request.
    func request(method: String, route: String, status: Int) {
        state.withLock { $0.requests[route, default: [:]][method, default: [:]][status, default: 0] += 1 }
    }

    /// Counts a request that got no answer (the service may still have seen it).
    func transportError(method: String, route: String, error: any Error) {
        state.withLock {
            $0.errors["\(method) \(route)", default: 0] += 1
            $0.lastError = String(describing: error)
        }
    }

    /// Records that `user` did a funnel step the service confirmed.
    func funnelStep(_ step: String, user: String) {
        state.withLock { _ = $0.funnelUsers[step, default: []].insert(user) }
    }

    /// Counts a journey event.
    func journey(_ end: JourneyEnd) {
        state.withLock { $0.journeys[end.rawValue, default: 0] += 1 }
    }

    /// The tally as a JSON object.
    func report() -> [String: Any] {
        state.withLock { s in
            var routes: [[String: Any]] = []
            var total = 0
            for (route, methods) in s.requests.sorted(by: { $0.key < $1.key }) {
                for (method, statuses) in methods.sorted(by: { $0.key < $1.key }) {
                    let count = statuses.values.reduce(0, +)
                    total += count
                    let byStatus = Dictionary(uniqueKeysWithValues: statuses.map { (String($0.key), $0.value) })
                    let errors = statuses.filter { $0.key >= 500 }.values.reduce(0, +)
                    routes.append([
                        "route": route, "method": method, "requests": count, "errors": errors, "by_status": byStatus,
                    ])
                }
            }
            var journeys = s.journeys
            for key in ["started", "completed", "abandoned", "failed", "assessment_failed"] {
                journeys[key, default: 0] += 0
            }
            var report: [String: Any] = [
                "requests_total": total, "routes": routes, "journeys": journeys, "transport_errors": s.errors,
                "funnel_users": Dictionary(
                    uniqueKeysWithValues: ["document_uploaded", "assessment_requested", "report_viewed"].map {
                        ($0, s.funnelUsers[$0]?.count ?? 0)
                    }),
            ]
            if let last = s.lastError { report["last_transport_error"] = last }
            return report
        }
    }
}
