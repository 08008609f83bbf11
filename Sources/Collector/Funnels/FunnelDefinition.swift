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
                text += "f:" + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1f}")
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
