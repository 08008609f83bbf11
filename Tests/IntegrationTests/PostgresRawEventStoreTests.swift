import PostgresURL
import Collector
import Foundation
import Logging
import PostgresNIO
import Storage
import Testing

private let env = ProcessInfo.processInfo.environment

/// The drill-down store against the same queries done by hand over the same rows: filters, newest-first
/// order, cursor pagination that neither repeats nor skips, day partitions and retention.
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct PostgresRawEventStoreTests {
    static let day: Int64 = 86_400_000

    static func rows(count: Int, from start: Int64) -> [RawEvent] {
        var rng = SystemRandomNumberGenerator()
        return (0..<count).map { i in
            let status = [200, 201, 404, 500, 503].randomElement(using: &rng)!
            let ts = start + Int64.random(in: 0..<(2 * day), using: &rng)
            if i % 5 == 0 {
                let level = ["info", "warn", "error"].randomElement(using: &rng)!
                return RawEvent(
                    timestampMs: ts, service: "api", kind: "log", level: level, isError: level == "error",
                    line: #"{"service":"api","level":"\#(level)","msg":"n\#(i)"}"#)
            }
            let service = ["api", "web"].randomElement(using: &rng)!
            return RawEvent(
                timestampMs: ts, service: service, kind: "request", route: ["/a", "/b/:id"].randomElement(using: &rng)!,
                method: "GET", status: status, isError: status >= 500,
                line: #"{"service":"\#(service)","status":\#(status),"n":\#(i)}"#)
        }
    }

    func withStore(_ body: (PostgresRawEventStore) async throws -> Void) async throws {
        let logger = Logger(label: "test")
        let client = PostgresClient(
            configuration: try PostgresURL(env["OPSIGHT_TEST_DATABASE_URL"]!).clientConfiguration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            let schema = "test_raw_\(UUID().uuidString.prefix(8).lowercased())"
            try await Migrations.migrate(client: client, schema: schema, logger: logger)
            var failure: (any Error)?
            do { try await body(PostgresRawEventStore(client: client, schema: schema, logger: logger)) } catch {
                failure = error
            }
            try? await client.query("DROP SCHEMA \(unescaped: "\"\(schema)\"") CASCADE")
            group.cancelAll()
            if let failure { throw failure }
        }
    }

    @Test func filtersAndPagesMatchTheRowsDoneByHand() async throws {
        let start = (Int64(Date().timeIntervalSince1970 * 1000) / Self.day - 3) * Self.day
        let rows = Self.rows(count: 600, from: start)
        try await withStore { store in
            try await store.insert(Array(rows.prefix(300)))
            try await store.insert(Array(rows.dropFirst(300)))
            let cases: [(String, (inout RawEventQuery) -> Void, (RawEvent) -> Bool)] = [
                ("all", { _ in }, { _ in true }),
                ("service", { $0.service = "web" }, { $0.service == "web" }),
                ("5xx", { $0.statusClass = 5 }, { ($0.status ?? 0) / 100 == 5 }),
                ("errors", { $0.errorsOnly = true }, { $0.isError }),
                ("logs at error", { $0.kind = "log"; $0.level = "error" }, { $0.kind == "log" && $0.level == "error" }),
                ("route", { $0.route = "/b/:id"; $0.service = "api" }, { $0.route == "/b/:id" && $0.service == "api" }),
            ]
            let from = start + Self.day / 2
            let to = start + Self.day + Self.day / 3
            for (name, configure, predicate) in cases {
                var pages: [String] = []
                var query = RawEventQuery(fromMs: from, toMs: to, limit: 17)
                configure(&query)
                while true {
                    let page = try await store.query(query)
                    pages += page.map(\.event.line)
                    guard page.count == query.limit, let last = page.last else { break }
                    query.after = RawEventCursor(timestampMs: last.event.timestampMs, id: last.id)
                }
                let expected = rows.filter { $0.timestampMs >= from && $0.timestampMs < to && predicate($0) }
                #expect(pages.count == expected.count, "\(name): \(pages.count) rows paged, \(expected.count) expected")
                #expect(Set(pages) == Set(expected.map(\.line)), "\(name): the same rows")
                let times = Dictionary(uniqueKeysWithValues: rows.map { ($0.line, $0.timestampMs) })
                let paged = pages.compactMap { times[$0] }
                #expect(paged == paged.sorted(by: >), "\(name): newest first")
            }
        }
    }

    @Test func retentionDropsWholeDays() async throws {
        let start = (Int64(Date().timeIntervalSince1970 * 1000) / Self.day - 3) * Self.day
        let rows = Self.rows(count: 200, from: start)
        try await withStore { store in
            try await store.insert(rows)
            #expect(try await store.dropOlder(than: start + Self.day + 1) == 1)
            let left = try await store.query(RawEventQuery(fromMs: 0, toMs: Int64.max, limit: 1_000))
            #expect(left.count == rows.filter { $0.timestampMs >= start + Self.day }.count)
            #expect(try await store.dropOlder(than: start + Self.day + 1) == 0)
            // A dropped day is created again when events of it arrive.
            try await store.insert([rows.first { $0.timestampMs < start + Self.day }!])
            #expect(try await store.query(RawEventQuery(fromMs: 0, toMs: Int64.max, limit: 1_000)).count == left.count + 1)
        }
    }
}
