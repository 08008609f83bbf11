import Foundation
import Logging
import NIOCore
import OpsightMetrics
import PostgresNIO
import PostgresURL
import Testing

@testable import Storage

private let env = ProcessInfo.processInfo.environment

/// The durable store's hand-written array parameters (``ArrayColumn``) read back in PostgreSQL exactly as postgres-nio's
/// own encoding of the same values does: every element, its order and its bytes, at the extremes of each type.
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct ArrayColumnTests {
    let logger = Logger(label: "test")

    private func withClient(_ body: (PostgresClient) async throws -> Void) async throws {
        let url = try PostgresURL(env["OPSIGHT_TEST_DATABASE_URL"]!)
        let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }

    @Test func columnsReadBackAsTheirValues() async throws {
        var rng = SystemRandomNumberGenerator()
        let ints: [Int64] = [0, 1, -1, .max, .min, 1 << 40] + (0..<300).map { _ in Int64.random(in: .min ... .max, using: &rng) }
        let texts = ["", "a", "ünïcode ✓ 🙂", String(repeating: "r/", count: 5_000), "'quoted' \"and\" \\ back"]
            + (0..<300).map { "/route/\($0)" }
        var sketches: [LogSketch] = [LogSketch()]
        var wide = LogSketch()
        for v in [1e-300, 1e300, 0, -5, 1, 2, 3, 1e6] { wide.add(v) }
        sketches.append(wide)
        for i in 0..<200 {
            var s = LogSketch()
            for _ in 0...(i % 40) { s.add(Double.random(in: 0...10_000, using: &rng)) }
            sketches.append(s)
        }
        try await withClient { client in
            var intColumn = ArrayColumn.int8(rows: 1)
            for v in ints { intColumn.append(v) }
            var textColumn = ArrayColumn.text(rows: 1, bytesPerRow: 1)
            for t in texts { textColumn.append(t) }
            var sketchColumn = ArrayColumn.bytea(rows: 1, bytesPerRow: 1)
            var emptyColumn = ArrayColumn.bytea(rows: 1)
            for s in sketches {
                sketchColumn.append(sketch: s)
                emptyColumn.append(sketch: s, emptyAsNothing: true)
            }
            #expect(intColumn.count == Int32(ints.count) && sketchColumn.count == Int32(sketches.count))

            let readInts = try await client.query(
                "SELECT v, o FROM unnest(\(intColumn)::int8[]) WITH ORDINALITY AS u(v, o) ORDER BY o", logger: logger)
            var gotInts: [Int64] = []
            for try await (v, _) in readInts.decode((Int64, Int64).self) { gotInts.append(v) }
            #expect(gotInts == ints)

            // Compared in the server with postgres-nio's encoding of the same strings: equal arrays, element by element.
            let sameTexts = try await client.query(
                "SELECT \(textColumn)::text[] = \(texts)::text[], cardinality(\(textColumn)::text[])", logger: logger)
            for try await (same, n) in sameTexts.decode((Bool, Int32).self) {
                #expect(same && Int(n) == texts.count)
            }

            let readSketches = try await client.query(
                """
                SELECT a, b, o FROM unnest(\(sketchColumn)::bytea[], \(emptyColumn)::bytea[]) WITH ORDINALITY AS u(a, b, o)
                ORDER BY o
                """, logger: logger)
            var i = 0
            for try await (a, b, _) in readSketches.decode((ByteBuffer, ByteBuffer, Int64).self) {
                let expected = sketches[i].encoded()
                #expect(Array(a.readableBytesView) == expected)
                #expect(Array(b.readableBytesView) == (sketches[i].isEmpty ? [] : expected))
                #expect(try LogSketch(decoding: a.readableBytesView) == sketches[i])
                i += 1
            }
            #expect(i == sketches.count)

            // An empty column is an empty array, as `unnest` of nothing.
            let empty = ArrayColumn.int8(rows: 0)
            let none = try await client.query("SELECT cardinality(\(empty)::int8[])", logger: logger)
            for try await n in none.decode(Int32.self) { #expect(n == 0) }
        }
    }
}

/// Counts are unsigned and the column is `bigint`: one past `Int64.max` is written as `Int64.max` (clamped), never a
/// trap or a negative number; smaller counts go as they are. No database needed: the element bytes are read directly.
@Suite struct ArrayColumnCountTests {
    @Test func unsignedCountsAreClampedToBigint() {
        var column = ArrayColumn.int8(rows: 4)
        for v: UInt64 in [0, 7, UInt64(Int64.max), UInt64(Int64.max) + 1, .max] { column.append(v) }
        var buffer = ByteBuffer()
        column.encode(into: &buffer, context: .default)
        // Header: dimensions, has-nulls, element OID, length, lower bound; then (length 8, value) per element.
        #expect(buffer.readMultipleIntegers(as: (Int32, Int32, UInt32, Int32, Int32).self)! == (1, 0, 20, 5, 1))
        var values: [Int64] = []
        while let (length, value) = buffer.readMultipleIntegers(as: (Int32, Int64).self) {
            #expect(length == 8)
            values.append(value)
        }
        #expect(values == [0, 7, .max, .max, .max])
    }
}
