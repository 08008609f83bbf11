import Collector
import Foundation
import HTTPLayer
import Hummingbird
import OpsightMetrics

/// `GET /api/v1/events`: the raw event drill-down, newest first, with filters and cursor pagination.
public struct EventsController<Context: RequestContext>: Sendable {
    private let store: any RawEventStore
    private let buffer: RawEventBuffer
    private let clock: WallClock

    /// Creates the controller.
    public init(store: any RawEventStore, buffer: RawEventBuffer, clock: WallClock = .system) {
        self.store = store
        self.buffer = buffer
        self.clock = clock
    }

    /// Adds the route, with the `read` scope.
    public func register(on routes: ScopedRoutes<Context>) {
        routes.group("/api/v1", scope: .read).get("events") { request, _ in try await self.events(request) }
    }

    /// `?service=&kind=&level=&status_class=5xx&route=&errors=true&from=&to=&limit=100&cursor=`; `from`/`to`
    /// default to the last hour; the answer's `next_cursor` continues the listing (null at the end).
    private func events(_ request: Request) async throws -> Response {
        let p = try await RequestParameters(request)
        let to = try p.time("to") ?? clock.nowMs() + 1
        let from = try p.time("from") ?? max(0, to - 3_600_000)
        guard from < to else { throw APIError.badRequest("from must be before to", parameter: "from") }
        var q = RawEventQuery(fromMs: from, toMs: to, limit: try p.integer("limit", default: 100, in: 1...1_000))
        q.service = try p.text("service")
        q.route = try p.text("route")
        q.kind = try p.oneOf("kind", ["request", "job", "event", "log"])
        q.level = try p.oneOf("level", ["debug", "info", "warn", "error", "fatal"])
        q.statusClass = try p.oneOf("status_class", ["1xx", "2xx", "3xx", "4xx", "5xx"]).flatMap { Int($0.prefix(1)) }
        q.errorsOnly = try p.bool("errors") ?? q.errorsOnly
        if let text = p.optional("cursor") {
            guard let cursor = RawEventCursor(text: text) else {
                throw APIError.badRequest("cursor is not one this API gave out", parameter: "cursor")
            }
            q.after = cursor
        }
        let rows = try await store.query(q)
        // Lines are JSON already (the decoder accepted them): embedded as they are.
        var out = "{\"events\":["
        for (i, row) in rows.enumerated() {
            if i > 0 { out += "," }
            out += "{\"id\":\(row.id),\"ts\":\(Double(row.event.timestampMs) / 1000),\"service\":\(Self.quoted(row.event.service))"
            out += ",\"kind\":\(Self.quoted(row.event.kind)),\"error\":\(row.event.isError),\"event\":\(row.event.line)}"
        }
        let next = rows.count == q.limit ? rows.last.map { RawEventCursor(timestampMs: $0.event.timestampMs, id: $0.id).text } : nil
        let counts = buffer.counts
        out += "],\"next_cursor\":\(next.map(Self.quoted) ?? "null")"
        out += ",\"sampling\":{\"kept\":\(counts.kept),\"sampled_out\":\(counts.sampledOut)"
        out += ",\"dropped_errors\":\(counts.droppedErrors),\"dropped_full\":\(counts.droppedFull),\"buffered\":\(buffer.count)}}"
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: out)))
    }

    static func quoted(_ s: String) -> String {
        let data = (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
