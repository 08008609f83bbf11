import OpsightMetrics

/// A funnel from the configuration (SPEC §5): ordered steps an entity passes within a conversion window.
public struct FunnelDefinition: Sendable, Equatable {
    public var name: String
    /// The event field that identifies who converts (`entity` by default).
    public var key: String
    /// How long after its step-1 event an attempt may take, ms (inclusive).
    public var windowMs: Int64
    public var steps: [FunnelStep]

    /// Creates the definition.
    public init(name: String, key: String = "entity", windowMs: Int64, steps: [FunnelStep]) {
        self.name = name
        self.key = key
        self.windowMs = windowMs
        self.steps = steps
    }

    /// The indexes (0-based) of the steps `event` is, in order.
    public func steps(matching event: Event) -> [Int] {
        steps.indices.filter { steps[$0].matches(event) }
    }
}

/// One step: an event name, or a matcher over an event's fields.
public struct FunnelStep: Sendable, Equatable {
    /// What the step matches.
    public enum Matcher: Sendable, Equatable {
        /// A `kind: event` event of this name.
        case event(String)
        /// Every named field equal to the value (`service`, `kind`, `event`, `queue`, `job`, `route`, `method`,
        /// `status`, `status_class` such as `2xx`, `level`).
        case fields([String: String])
    }

    /// The step's display name (the event name, or given).
    public var name: String
    public var matcher: Matcher

    /// The field names a matcher may use.
    public static let matchableFields: Set<String> = [
        "service", "kind", "event", "queue", "job", "route", "method", "status", "status_class", "level",
    ]

    /// Creates the step.
    public init(name: String, matcher: Matcher) {
        self.name = name
        self.matcher = matcher
    }

    /// Whether `e` is this step.
    public func matches(_ e: Event) -> Bool {
        switch matcher {
        case .event(let name):
            return e.kind == .event && e.name == name
        case .fields(let fields):
            for (field, want) in fields {
                let have: String? =
                    switch field {
                    case "service": e.service
                    case "kind": e.kind.rawString
                    case "event": e.kind == .job ? e.jobEvent?.rawString : e.name
                    case "queue": e.queue
                    case "job": e.job
                    case "route": e.route
                    case "method": e.method
                    case "status": e.status.map(String.init)
                    case "status_class": e.status.map { "\($0 / 100)xx" }
                    case "level": e.level?.rawString
                    default: nil
                    }
                guard have == want else { return false }
            }
            return true
        }
    }
}
