import OpsightMetrics

/// A funnel from the configuration (SPEC §5): ordered steps an entity passes within a conversion window.
public struct FunnelDefinition: Sendable, Equatable {
    public let name: String
    /// The event field that identifies who converts (`entity` by default).
    public let key: String
    /// How long after its step-1 event an attempt may take, ms (inclusive).
    public let windowMs: Int64
    public let steps: [FunnelStep]
    /// What the step records are stored under: the name and a fingerprint of the steps' matchers, in order.
    ///
    /// Records identify a step by its position, so a funnel whose steps were reordered, added or changed must
    /// not read the records of the old definition as its own: it starts a fresh history. Renaming a step's
    /// label or changing the conversion window (applied when reading) keeps it.
    public let storageName: String

    /// Creates the definition.
    public init(name: String, key: String = "entity", windowMs: Int64, steps: [FunnelStep]) {
        self.name = name
        self.key = key
        self.windowMs = windowMs
        self.steps = steps
        self.storageName = name + "#" + Self.fingerprint(steps)
    }

    /// 8 hex digits of FNV-1a over the matchers in a canonical spelling (stable across runs and builds, unlike
    /// `Hasher`).
    static func fingerprint(_ steps: [FunnelStep]) -> String {
        var text = ""
        for step in steps {
            switch step.matcher {
            case .event(let name): text += "e:\(name)\u{1e}"
            case .fields(let fields):
                text +=
                    "f:" + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1f}")
                text += "\u{1e}"
            }
        }
        var hash: UInt32 = 0x811c_9dc5
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
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
    public func matches(_ e: Event) -> Bool { withUnsafePointer(to: e) { matches($0) } }

    /// Whether the event at `p` is this step, read field by field in place: the pre-aggregation asks every step of
    /// every funnel about each event that names an entity, and an `Event` passed by value (or `borrowing`) was copied
    /// each time, its strings retained and released (~3 % of the machine at full HTTP ingest, docs/benchmarks.md).
    public func matches(_ p: UnsafePointer<Event>) -> Bool {
        switch matcher {
        case .event(let name):
            return p.pointee.kind == .event && p.pointee.name == name
        case .fields(let fields):
            for (field, want) in fields {
                let have: String? =
                    switch field {
                    case "service": p.pointee.service
                    case "kind": p.pointee.kind.rawString
                    case "event": p.pointee.kind == .job ? p.pointee.jobEvent?.rawString : p.pointee.name
                    case "queue": p.pointee.queue
                    case "job": p.pointee.job
                    case "route": p.pointee.route
                    case "method": p.pointee.method
                    case "status": p.pointee.status.map(String.init)
                    case "status_class": p.pointee.status.map { "\($0 / 100)xx" }
                    case "level": p.pointee.level?.rawString
                    default: nil
                    }
                guard have == want else { return false }
            }
            return true
        }
    }
}
