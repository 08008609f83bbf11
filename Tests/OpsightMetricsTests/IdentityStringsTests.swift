import Testing

@testable import OpsightMetrics

@Suite struct IdentityStringsTests {
    /// Whether two strings are one stored object (what makes `==` skip the bytes).
    static func sameStorage(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { pa in b.withUTF8 { pb in pa.baseAddress == pb.baseAddress } }
    }

    static func line(service: String, route: String, method: String = "GET") -> String {
        #"{"service":"\#(service)","route":"\#(route)","method":"\#(method)","status":200,"duration_ms":5}"#
    }

    /// Identity values of many shapes: short (inline), long, at and past the table's length limit, non-ASCII,
    /// escaped, and spelled with an escape that stands for a plain character.
    static let routes = [
        "/a", "/api/v1/assessments/:id/status", "/api/v1/assessments/:id/status/", String(repeating: "r", count: 128),
        String(repeating: "s", count: 129), "/api/v1/prüfungen/:id/ergebnis", #"/api/v1/quote\"d/route/long"#,
        #"/api/v1/\u0061ssessments/:id/status"#, "/api/v1/assessments/:id/statut",
    ]

    /// Every event decoded from a batch equals the same line decoded on its own, in the first batch that sees the
    /// strings and in later ones that take them from the table.
    @Test func batchesDecodeWhatSingleLinesDecode() throws {
        let decoder = EventDecoder()
        var lines: [String] = []
        for (i, route) in Self.routes.enumerated() {
            lines.append(Self.line(service: i % 2 == 0 ? "svc-assessments-long-name" : "svc", route: route))
        }
        let body = lines.joined(separator: "\n")
        let single = try lines.map { try decoder.decode($0) }
        for _ in 0..<3 {
            let batch = decoder.decodeBatch(body)
            #expect(batch.events == single)
            #expect(batch.rejected == 0)
        }
        #expect(single[7].route == "/api/v1/assessments/:id/status")
        #expect(single[6].route == #"/api/v1/quote"d/route/long"#)
    }

    /// A later batch's events share the strings an earlier batch stored; unlike strings are never shared.
    @Test func laterBatchesShareTheStoredStrings() {
        let decoder = EventDecoder()
        let route = "/api/v1/assessments/:id/status"
        let first = decoder.decodeBatch(Self.line(service: "svc-assessments-long-name", route: route))
        let second = decoder.decodeBatch(
            [Self.line(service: "svc-assessments-long-name", route: route), Self.line(service: "x", route: route + "/")]
                .joined(separator: "\n"))
        #expect(second.events.count == 2)
        #expect(Self.sameStorage(first.events[0].route!, second.events[0].route!))
        #expect(Self.sameStorage(first.events[0].service, second.events[0].service))
        #expect(!Self.sameStorage(second.events[0].route!, second.events[1].route!))
        #expect(second.events[1].route == route + "/")
        // A single-line decode does not use the table.
        let alone = try? decoder.decode(Self.line(service: "svc-assessments-long-name", route: route))
        #expect(alone.map { !Self.sameStorage($0.route!, first.events[0].route!) } == true)
    }

    /// The table stops growing at its capacity; strings past it are still decoded right.
    @Test func theTableIsBounded() throws {
        let decoder = EventDecoder()
        let perBatch = 4_000
        var batches = 0
        while decoder.identities.count < IdentityStrings.capacity {
            let body = (0..<perBatch).map { Self.line(service: "s", route: "/route/number/\(batches)/\($0)") }
            let batch = decoder.decodeBatch(body.joined(separator: "\n"))
            #expect(batch.accepted == perBatch)
            batches += 1
            try #require(batches < 3 * IdentityStrings.capacity / perBatch)
        }
        #expect(decoder.identities.count == IdentityStrings.capacity)
        let past = decoder.decodeBatch(Self.line(service: "s", route: "/route/past/the/capacity"))
        #expect(past.events.map(\.route) == ["/route/past/the/capacity"])
        #expect(decoder.identities.count == IdentityStrings.capacity)
    }

    /// Batches decoded at the same time on several threads each get exactly their own lines' values.
    @Test func concurrentBatchesDecodeTheirOwnLines() async {
        let decoder = EventDecoder()
        let results = await withTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var ok = true
                    for round in 0..<30 {
                        let routes = (0..<200).map { "/shared/route/number/\(($0 * 7 + task + round) % 300)" }
                        let body = routes.map { Self.line(service: "svc-\(task % 3)", route: $0) }
                        let batch = decoder.decodeBatch(body.joined(separator: "\n"))
                        ok = ok && batch.events.map(\.route) == routes
                            && batch.events.allSatisfy { $0.service == "svc-\(task % 3)" }
                    }
                    return ok
                }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(results)
        #expect(decoder.identities.count == 300)
    }
}
