import OpsightMetrics

/// One accepted event as the drill-down keeps it: the fields it is filtered by, and its line as received.
public struct RawEvent: Sendable, Equatable {
    public var timestampMs: Int64
    public var service: String
    public var kind: String
    public var route: String?
    public var method: String?
    public var status: Int?
    public var level: String?
    public var queue: String?
    public var job: String?
    /// Whether the event is an error (5xx by the configured rule, a failed job, an error or fatal log line).
    public var isError: Bool
    /// The JSON line as the client sent it.
    public var line: String

    /// Creates the row.
    public init(
        timestampMs: Int64, service: String, kind: String, route: String? = nil, method: String? = nil,
        status: Int? = nil, level: String? = nil, queue: String? = nil, job: String? = nil, isError: Bool,
        line: String
    ) {
        self.timestampMs = timestampMs
        self.service = service
        self.kind = kind
        self.route = route
        self.method = method
        self.status = status
        self.level = level
        self.queue = queue
        self.job = job
        self.isError = isError
        self.line = line
    }

    /// Whether `e` is an error event, which the drill-down always keeps.
    public static func isError(_ e: Event, rules: AggregationRules) -> Bool {
        switch e.kind {
        case .request: (e.status ?? 0) >= rules.errorStatusAtLeast
        case .job: e.jobEvent == .failed
        case .log: (e.level ?? .info) >= .error
        case .event: false
        }
    }

    /// The row of a decoded event and its line.
    public init(_ e: Event, line: String, isError: Bool) {
        self.init(
            timestampMs: e.timestampMs, service: e.service, kind: e.kind.rawString, route: e.route, method: e.method,
            status: e.status, level: e.level?.rawString, queue: e.queue, job: e.job, isError: isError, line: line)
    }
}

/// A drill-down query: filters, a time range and a page.
public struct RawEventQuery: Sendable, Equatable {
    public var service: String?
    public var kind: String?
    public var level: String?
    /// `1`…`5` for 1xx…5xx.
    public var statusClass: Int?
    public var route: String?
    public var errorsOnly = false
    /// Event times in `[fromMs, toMs)`.
    public var fromMs: Int64
    public var toMs: Int64
    public var limit: Int
    /// Continue after this (time, id), newest first.
    public var after: RawEventCursor?

    /// Creates the query.
    public init(fromMs: Int64, toMs: Int64, limit: Int) {
        self.fromMs = fromMs
        self.toMs = toMs
        self.limit = limit
    }
}

/// Where a page ended: the last row's time and id.
public struct RawEventCursor: Sendable, Equatable {
    public var timestampMs: Int64
    public var id: Int64

    /// Creates the cursor.
    public init(timestampMs: Int64, id: Int64) {
        self.timestampMs = timestampMs
        self.id = id
    }

    /// The opaque text form clients pass back (`<ms>.<id>` in base 36).
    public var text: String { String(timestampMs, radix: 36) + "." + String(id, radix: 36) }

    /// Parses the text form; nil when it is not one.
    public init?(text: String) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let t = Int64(parts[0], radix: 36), let i = Int64(parts[1], radix: 36) else {
            return nil
        }
        self.init(timestampMs: t, id: i)
    }
}

/// A stored row with its id.
public struct StoredRawEvent: Sendable, Equatable {
    public var id: Int64
    public var event: RawEvent
    /// Creates the row.
    public init(id: Int64, event: RawEvent) {
        self.id = id
        self.event = event
    }
}

/// Where raw events are kept (PostgreSQL, in daily partitions, in production).
public protocol RawEventStore: Sendable {
    /// Appends rows.
    func insert(_ events: [RawEvent]) async throws
    /// Rows matching `query`, newest first, at most `query.limit`.
    func query(_ query: RawEventQuery) async throws -> [StoredRawEvent]
    /// Drops what is older than `cutoffMs` (whole days); returns how many partitions went.
    func dropOlder(than cutoffMs: Int64) async throws -> Int
}
