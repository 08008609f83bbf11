import Collector
import Foundation
import Hummingbird

/// `GET /api/v1/events`: the raw event drill-down, newest first, with filters and cursor pagination.
public struct EventsController<Context: RequestContext>: Sendable {
    private let store: any RawEventStore
    private let buffer: RawEventBuffer
    private let tokens: AccessTokens
    private let now: @Sendable () -> Int64

    /// Creates the controller.
    public init(
        store: any RawEventStore, buffer: RawEventBuffer, tokens: AccessTokens,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.store = store
        self.buffer = buffer
        self.tokens = tokens
        self.now = now
    }

    /// Adds the route to `router`.
    public func register(on router: Router<Context>) {
        router.get("/api/v1/events") { request, _ in try await self.events(request) }
    }

    /// `?service=&kind=&level=&status_class=5xx&route=&errors=true&from=&to=&limit=100&cursor=`; `from`/`to`
    /// default to the last hour; the answer's `next_cursor` continues the listing (null at the end).
    private func events(_ request: Request) async throws -> Response {
        try tokens.authorize(request, scope: "read")
        let p = QueryParameters(request: request)
        let to = try p.time("to") ?? now() + 1
        let from = try p.time("from") ?? to - 3_600_000
        guard from < to else { throw APIError.badRequest("from must be before to", parameter: "from") }
        var limit = 100
        if let text = p.optional("limit") {
            guard let n = Int(text), (1...1_000).contains(n) else {
                throw APIError.badRequest("limit must be a whole number from 1 to 1000", parameter: "limit")
            }
            limit = n
        }
        var q = RawEventQuery(fromMs: from, toMs: to, limit: limit)
        q.service = p.optional("service")
        q.route = p.optional("route")
        if let kind = p.optional("kind") {
            guard ["request", "job", "event", "log"].contains(kind) else {
                throw APIError.badRequest("kind must be request, job, event or log", parameter: "kind")
            }
            q.kind = kind
        }
        if let level = p.optional("level") {
            guard ["debug", "info", "warn", "error", "fatal"].contains(level) else {
                throw APIError.badRequest("level must be debug, info, warn, error or fatal", parameter: "level")
            }
            q.level = level
        }
        if let text = p.optional("status_class") {
            guard text.count == 3, text.hasSuffix("xx"), let c = Int(text.prefix(1)), (1...5).contains(c) else {
                throw APIError.badRequest("status_class must be one of 1xx 2xx 3xx 4xx 5xx", parameter: "status_class")
            }
            q.statusClass = c
        }
        if let text = p.optional("errors") {
            guard text == "true" || text == "false" else {
                throw APIError.badRequest("errors must be true or false", parameter: "errors")
            }
            q.errorsOnly = text == "true"
        }
        if let text = p.optional("cursor") {
            guard let cursor = RawEventCursor(text: text) else {
                throw APIError.badRequest("cursor is not one this API gave out", parameter: "cursor")
            }
            q.after = cursor
        }
        let rows: [StoredRawEvent]
        do { rows = try await store.query(q) } catch {
            throw APIError.storeUnavailable("\(error)")
        }
        // Lines are JSON already (the decoder accepted them): embedded as they are.
        var out = "{\"events\":["
        for (i, row) in rows.enumerated() {
            if i > 0 { out += "," }
            out += "{\"id\":\(row.id),\"ts\":\(Double(row.event.timestampMs) / 1000),\"service\":\(Self.quoted(row.event.service))"
            out += ",\"kind\":\(Self.quoted(row.event.kind)),\"error\":\(row.event.isError),\"event\":\(row.event.line)}"
        }
        let next = rows.count == limit ? rows.last.map { RawEventCursor(timestampMs: $0.event.timestampMs, id: $0.id).text } : nil
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
