import Collector
import Foundation
import OpsightMetrics
import OpsightTestSupport
@testable import Storage
import Testing

private let env = ProcessInfo.processInfo.environment

/// What the hot store's hashes hold, against the real Redis: a request cell's count is left out when its status
/// classes add up to it, hashes written the older way (with the count) read the same, and the `_total` counters are
/// added up per series before they are written, equal to the classes of every event.
@Suite(.enabled(if: env["OPSIGHT_TEST_REDIS_URL"] != nil, "needs OPSIGHT_TEST_REDIS_URL (make test sets it)"))
struct RedisHotLayoutTests {
    /// A fresh store (its own key prefix) on the test Redis, as the change feed's tests make it.
    func withStore(_ body: (RedisHotStore, RedisClient, String) async throws -> Void) async throws {
        try await RedisChangeFeedTests().withStore(body)
    }

    /// Field names of a hash.
    func fields(_ client: RedisClient, _ key: String) async throws -> [String: UInt64] {
        let items = try await client.command("HGETALL", .string(key)).array ?? []
        var out: [String: UInt64] = [:]
        for i in stride(from: 0, to: items.count - 1, by: 2) {
            out[items[i].string ?? "?"] = items[i + 1].string.flatMap { UInt64($0) }
        }
        return out
    }

    @Test func countsAreLeftOutWhenTheClassesAddUpAndOlderHashesReadTheSame() async throws {
        try await withStore { store, client, prefix in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let bucket = TimeBucket.index(ofMs: now, widthMs: TimeBucket.hotWidthMs)
            var events: [Event] = []
            for (i, status) in [200, 200, 404, 500, 503, 0, 302].enumerated() {
                var e = Event(timestampMs: bucket * 10_000 - 1_000 - Int64(i), service: "api", kind: .request)
                e.route = "/a"
                e.method = "GET"
                e.status = status
                e.durationMs = Double(i * 7)
                events.append(e)
            }
            let delta = BatchAggregate(events: events, rules: .init()).hot
            try await store.commit(delta, position: 1, collector: "c")
            let key = "\(prefix):{api}:h:\(bucket)"
            let written = try await fields(client, key)
            let sep = "\u{1f}"
            #expect(written["r\(sep)/a\(sep)GET\(sep)n"] == nil, "\(written.keys.sorted())")
            #expect(written["r\(sep)/a\(sep)GET\(sep)c2"] == 2)
            var expected = WindowData()
            expected.merge(delta)
            #expect(expected.requests.values.first?.count == 7)
            #expect(try await store.read(service: nil, buckets: bucket...bucket) == expected)

            // The same cell, as a collector before this layout wrote it: the count and its class both.
            _ = try await client.command("HINCRBY", .string(key), .string("r\(sep)/a\(sep)GET\(sep)n"), .int(3))
            _ = try await client.command("HINCRBY", .string(key), .string("r\(sep)/a\(sep)GET\(sep)c4"), .int(3))
            let read = try await store.read(service: nil, buckets: bucket...bucket)
            let stats = try #require(read.requests[RequestKey(service: "api", route: "/a", method: "GET")])
            #expect(stats.count == 10)
            #expect(stats.class4xx == 4)

            // Statistics whose count is not the sum of their classes (none come from events) keep their count.
            var odd = Delta()
            var s = RequestStats()
            s.count = 5
            s.class2xx = 1
            odd.requests[Bucketed(RequestKey(service: "api", route: "/odd", method: "GET"), bucket: bucket)] = s
            try await store.commit(odd, position: 2, collector: "c")
            let oddRead = try await store.read(service: "api", buckets: bucket...bucket)
            #expect(oddRead.requests[RequestKey(service: "api", route: "/odd", method: "GET")]?.count == 5)
        }
    }

    @Test func aCellOfOneClassWritesClassAndLatencyInOneFieldAndOlderFieldsAddToIt() async throws {
        try await withStore { store, client, prefix in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let bucket = TimeBucket.index(ofMs: now, widthMs: TimeBucket.hotWidthMs)
            func request(_ route: String, _ status: Int, _ ms: Double?) -> Event {
                var e = Event(timestampMs: bucket * 10_000 - 1_000, service: "api", kind: .request)
                e.route = route
                e.method = "GET"
                e.status = status
                e.durationMs = ms
                return e
            }
            let events = [
                // One class, every request timed: folded.
                request("/one", 200, 0), request("/one", 201, 5), request("/one", 204, 5),
                // One class, a request without a duration (its latency counts as zero): folded too.
                request("/untimed", 404, 3), request("/untimed", 404, nil),
                // Two classes: not folded.
                request("/mixed", 200, 3), request("/mixed", 500, 3),
                // Hostile durations: ±1e300 (the largest bucket, and zero).
                request("/extreme", 200, 1e300), request("/extreme", 200, -1e300),
            ]
            var delta = BatchAggregate(events: events, rules: .init()).hot
            // Statistics whose sketch holds fewer values than their class (none come from events): not folded.
            var partial = RequestStats()
            partial.count = 2
            partial.class2xx = 2
            partial.latency.add(3)
            delta.requests[Bucketed(RequestKey(service: "api", route: "/partial", method: "GET"), bucket: bucket)] = partial
            try await store.commit(delta, position: 1, collector: "c")
            let key = "\(prefix):{api}:h:\(bucket)"
            let written = try await fields(client, key)
            let sep = "\u{1f}"
            let b5 = LogSketch.bucketIndex(for: 5)
            let b3 = LogSketch.bucketIndex(for: 3)
            func f(_ route: String, _ stat: String) -> String { "r\(sep)\(route)\(sep)GET\(sep)\(stat)" }
            var expectedFields: [String: UInt64] = [f("/one", "s2z"): 1, f("/one", "s2b\(b5)"): 2]
            expectedFields[f("/untimed", "s4z")] = 1
            expectedFields[f("/untimed", "s4b\(b3)")] = 1
            expectedFields[f("/partial", "c2")] = 2
            expectedFields[f("/partial", "b\(b3)")] = 1
            expectedFields[f("/mixed", "c2")] = 1
            expectedFields[f("/mixed", "c5")] = 1
            expectedFields[f("/mixed", "e")] = 1
            expectedFields[f("/mixed", "b\(b3)")] = 2
            expectedFields[f("/extreme", "s2z")] = 1
            expectedFields[f("/extreme", "s2b\(LogSketch.bucketIndex(for: 1e300))")] = 1
            #expect(written == expectedFields)
            var expected = WindowData()
            expected.merge(delta)
            #expect(try await store.read(service: nil, buckets: bucket...bucket) == expected)

            // The same series written the older way by another collector (its class and its sketch apart): the sums.
            _ = try await client.command("HINCRBY", .string(key), .string(f("/one", "c2")), .int(2))
            _ = try await client.command("HINCRBY", .string(key), .string(f("/one", "b\(b5)")), .int(2))
            let read = try await store.read(service: nil, buckets: bucket...bucket)
            let one = try #require(read.requests[RequestKey(service: "api", route: "/one", method: "GET")])
            #expect(one.count == 5 && one.class2xx == 5 && one.errors == 0)
            #expect(one.latency.zeroCount == 1 && one.latency.count == 5)
            #expect(one.latency.buckets.map(\.index) == [b5] && one.latency.buckets.map(\.count) == [4])
        }
    }

    @Test func totalsAddedUpPerSeriesEqualEveryEventsClassAndCountThem() async throws {
        try await withStore { store, client, prefix in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var rng = SplitMix64(seed: 5)
            var events: [Event] = []
            for i in 0..<2_000 {
                let ts = now - Int64.random(in: 0..<3_000_000, using: &rng)
                if i % 3 == 0 {
                    var e = Event(timestampMs: ts, service: ["api", "web"].randomElement(using: &rng)!, kind: .log)
                    e.level = LogLevel.allCases.randomElement(using: &rng)!
                    events.append(e)
                    continue
                }
                var e = Event(timestampMs: ts, service: ["api", "web"].randomElement(using: &rng)!, kind: .request)
                e.route = ["/a", "/b"].randomElement(using: &rng)!
                e.method = "GET"
                e.status = [200, 201, 404, 500].randomElement(using: &rng)!
                e.durationMs = 3
                events.append(e)
            }
            let delta = BatchAggregate(events: events, rules: .init()).hot
            try await store.commit(delta, position: 1, collector: "c")
            // The oracle: each series' classes over every event.
            var expected: [String: UInt64] = [:]
            let sep = "\u{1f}"
            for e in events where e.kind == .request {
                expected["\(e.service)|r\(sep)\(e.route!)\(sep)GET\(sep)c\(e.status! / 100)", default: 0] += 1
            }
            for e in events where e.kind == .log {
                expected["\(e.service)|l\(sep)\(e.level!.rawString)", default: 0] += 1
            }
            var found: [String: UInt64] = [:]
            for service in ["api", "web"] {
                for (field, value) in try await fields(client, "\(prefix):{\(service)}:totals") {
                    found["\(service)|\(field)"] = value
                }
            }
            #expect(found == expected)
            let totals = try await store.totals()
            for (k, s) in totals.requests {
                #expect(s.count == events.filter { $0.kind == .request && $0.service == k.service && $0.route == k.route }.count)
            }
        }
    }
}

/// The change record a commit appends, decoded: every cell of the delta by bucket, whatever order the cells were written
/// in and however often a service comes back in another bucket (its series' names are shared by the buckets).
struct ChangeRecordTests {
    /// Folded fields (`s<k>z`, `s<k>b<i>`) count in class and sketch together; malformed ones (a class outside 1–5, no
    /// or a bad bucket, an index past `Int32`, NUL bytes, trailing bytes) count in neither, and nothing crashes.
    @Test func foldedFieldsCountInClassAndSketchAndMalformedOnesInNeither() {
        var reader = HotFieldReader(service: "api")
        func add(_ stat: String, _ value: UInt64) {
            reader.add(field: Array("r\u{1f}/a\u{1f}GET\u{1f}\(stat)".utf8)[...], value: value)
        }
        add("s2b10", 3)
        add("s4z", 1)
        for bad in ["s0z", "s6b10", "s2", "s2b", "s2bxx", "s2q", "s2b99999999999", "s2b1\u{0}", "s2zz", "s\u{0}z", "sz"] {
            add(bad, 1_000)
        }
        var out = WindowData()
        reader.finish(into: &out)
        let stats = out.requests[RequestKey(service: "api", route: "/a", method: "GET")]
        #expect(stats?.count == 4 && stats?.class2xx == 3 && stats?.class4xx == 1)
        #expect(stats?.class1xx == 0 && stats?.class3xx == 0 && stats?.class5xx == 0)
        #expect(stats?.latency.count == 4 && stats?.latency.zeroCount == 1)
        #expect(stats?.latency.buckets.map(\.index) == [10] && stats?.latency.buckets.map(\.count) == [3])
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func aDecodedRecordHoldsEveryCellOfTheCommitByBucket(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var events = randomEvents(count: 3_000, baseMs: 1_800_000_000_000, spanMs: 3_600_000, rng: &rng)
        // Awkward names and a status outside every class's range (counted as 5xx) as well.
        for i in stride(from: 0, to: events.count, by: 7) {
            events[i].service = ["web}x", "ü svc"][i % 2]
            if events[i].kind == .request { events[i].status = 0 }
        }
        let delta = BatchAggregate(events: events, rules: .init()).hot
        let client = RedisClient(url: try RedisURL("redis://127.0.0.1:1"))
        defer { client.shutdown() }
        let store = RedisHotStore(client: client, configuration: .init(keyPrefix: "t"))
        var writes = RedisHotStore.Writes(cmds: RESPCommands())
        store.add(delta, to: &writes)
        let decoded = try #require(ChangeRecord.decode(writes.change.encoded()))
        // The oracle: the delta's cells, by bucket.
        var expected: [Int64: WindowData] = [:]
        for (k, v) in delta.requests { expected[k.bucket, default: WindowData()].requests[k.key] = v }
        for (k, v) in delta.jobs { expected[k.bucket, default: WindowData()].jobs[k.key] = v }
        for (k, v) in delta.logs { expected[k.bucket, default: WindowData()].logs[k.key] = v }
        #expect(decoded.count == expected.count)
        for (bucket, data) in expected { #expect(decoded[bucket] == data, "bucket \(bucket)") }
    }
}
