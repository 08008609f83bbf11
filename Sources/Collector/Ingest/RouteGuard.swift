import OpsightMetrics
import Synchronization

/// The cardinality guard: at most `limit` routes per service; newer routes fold into `__other__`.
///
/// It runs before the write-ahead log, so the log holds folded routes and a replay folds nothing again.
public final class RouteGuard: Sendable {
    /// The route that takes every route past the limit.
    public static let otherRoute = "__other__"

    private let limit: Int
    private let routes = Mutex<[String: Set<String>]>([:])

    /// A guard allowing `limit` distinct routes per service.
    public init(limit: Int) {
        self.limit = limit
    }

    /// Remembers routes that already exist (from the stores at start), so a restart does not reshuffle them.
    public func seed(service: String, routes seeded: some Sequence<String>) {
        routes.withLock { r in r[service, default: []].formUnion(seeded.lazy.filter { $0 != Self.otherRoute }) }
    }

    /// Folds the routes of request events in place; returns how many were folded.
    public func apply(to events: inout [Event]) -> Int { apply(to: &events, at: events.indices) }

    /// Folds the routes of the request events at `indices` (in that order) in place; returns how many were folded.
    public func apply(to events: inout [Event], at indices: some Sequence<Int>) -> Int {
        var folded = 0
        routes.withLock { r in
            events.withUnsafeMutableBufferPointer { events in
                for i in indices where events[i].kind == .request && events[i].route != nil {
                    if !r[events[i].service, default: []].admit(events[i].route!, limit: limit) {
                        events[i].route = Self.otherRoute
                        folded += 1
                    }
                }
            }
        }
        return folded
    }
}
