import Collector
import Foundation
import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Storage

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

    /// The field names a hash holds with their sums, whether plain hash fields or entries of parts (``HotPart``).
    func fields(_ client: RedisClient, _ key: String) async throws -> [String: UInt64] {
        let items = try await client.command("HGETALL", .string(key)).array ?? []
        var out: [String: UInt64] = [:]
        for i in stride(from: 0, to: items.count - 1, by: 2) {
            let name = items[i].bytes ?? []
            if HotPart.isPart(name) {
                let whole = HotPart.forEachEntry((items[i + 1].bytes ?? [])[...]) { field, value in
                    out[String(decoding: field, as: UTF8.self), default: 0] += value
                }
                #expect(whole, "a part of \(key) is malformed")
            } else {
                out[items[i].string ?? "?", default: 0] += items[i + 1].string.flatMap { UInt64($0) } ?? .max
            }
        }
        return out
    }

    /// Part names in a hash.
    func partNames(_ client: RedisClient, _ key: String) async throws -> [[UInt8]] {
        let items = try await client.command("HKEYS", .string(key)).array ?? []
        return items.compactMap(\.bytes).filter { HotPart.isPart($0) }
    }

    /// Commits from two collectors (two stores on one prefix) write one part per hash per commit; every read — the
    /// buckets, their sums, the totals — equals the oracle (the deltas merged) before folding, after two stores fold
    /// the same keys at once (each hash then holds exactly one part: no swap counted twice) and with a plain field
    /// written the older way beside the parts, which folding leaves alone.
    @Test(arguments: [11, 12] as [UInt64])
    func partsReadTheSameFoldedOrNotAndTwoFoldersAtOnceCountOnce(seed: UInt64) async throws {
        try await withStore { store, client, prefix in
            let other = RedisHotStore(client: client, configuration: .init(keyPrefix: prefix))
            var rng = SplitMix64(seed: seed)
            var oracle = [Int64: WindowData]()
            var totals = WindowData()
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for round in 1...6 {
                // No job events: their pairing across commits adds waits the deltas do not hold.
                let events = RedisChangeFeedTests().events(&rng, count: 400, spanMs: 600_000).filter { $0.kind != .job }
                let delta = BatchAggregate(events: events, rules: .init()).hot
                for (k, v) in delta.requests {
                    oracle[k.bucket, default: WindowData()].requests[k.key, default: RequestStats()].merge(v)
                }
                for (k, v) in delta.jobs {
                    oracle[k.bucket, default: WindowData()].jobs[k.key, default: JobStats()].merge(v)
                }
                for (k, v) in delta.logs {
                    oracle[k.bucket, default: WindowData()].logs[k.key, default: LogStats()].merge(v)
                }
                totals.merge(delta)
                try await (round % 2 == 0 ? store : other).commit(
                    delta, position: UInt64(round), collector: "c\(round % 2)")
            }
            let buckets = (oracle.keys.min()!)...(oracle.keys.max()!)
            func check(_ when: String) async throws {
                let each = try await store.readEach(service: nil, buckets: buckets)
                #expect(each == oracle, "\(when): buckets")
                var sum = WindowData()
                for w in oracle.values { sum.merge(w) }
                #expect(try await store.read(service: nil, buckets: buckets) == sum, "\(when): sum")
                let readTotals = try await store.totals()
                #expect(readTotals.requests.mapValues(\.count) == totals.requests.mapValues(\.count), "\(when): totals")
                #expect(readTotals.logs == totals.logs.mapValues { $0 }, "\(when): log totals")
            }
            try await check("before folding")
            let keys = try await client.command("KEYS", .string("\(prefix):{*}:h:*")).array?.compactMap(\.string) ?? []
            let totalKeys =
                try await client.command("KEYS", .string("\(prefix):{*}:totals")).array?.compactMap(\.string) ?? []
            var many = 0
            for key in keys + totalKeys where try await partNames(client, key).count >= 2 { many += 1 }
            #expect(many > 0, "some hash holds several parts before folding")
            async let a = store.foldParts(of: keys + totalKeys)
            async let b = other.foldParts(of: (keys + totalKeys).reversed())
            let (folded, folded2) = try await (a, b)
            #expect(folded + folded2 >= many && folded + folded2 <= 2 * many)
            for key in keys + totalKeys { #expect(try await partNames(client, key).count == 1, "\(key)") }
            try await check("after folding")
            #expect(try await store.foldParts(of: keys) == 0, "one part a key: nothing to fold")

            // A plain field, as a collector before parts wrote it, beside the folded part: added to the reads.
            let sep = "\u{1f}"
            let (bucket, data) = oracle.first { !$0.value.requests.isEmpty }!
            let (key, stats) = data.requests.first!
            let hash = "\(prefix):{\(key.service.replacingOccurrences(of: "}", with: "%7D"))}:h:\(bucket)"
            _ = try await client.command(
                "HINCRBY", .string(hash), .string("r\(sep)\(key.route)\(sep)\(key.method)\(sep)c3"), .int(4))
            oracle[bucket]!.requests[key]!.class3xx += 4
            oracle[bucket]!.requests[key]!.count = stats.count + 4
            #expect(try await store.foldParts(of: [hash]) == 0)
            try await check("with a plain field")
        }
    }

    /// Commits fold their own hashes as they go when a hash reaches ``PartFolds/maxParts`` parts (the totals, a bucket
    /// written to for long); the upkeep the flush runs once it has caught up (``RedisHotStore/tidy(while:)``) folds a
    /// settled bucket's hash with two parts or more once no part was added for ``PartFolds/quietMs``, the bucket at
    /// "now" not before it has settled, and keeps what it was told to leave for its next call; every read equals the
    /// merged deltas throughout.
    @Test func commitsFoldFullHashesAndTheUpkeepSettledOnes() async throws {
        try await withStore { _, client, prefix in
            let clock = ManualClock()
            clock.advance(Int64(Date().timeIntervalSince1970 * 1000) - clock.now)
            let store = RedisHotStore(
                client: client, configuration: .init(keyPrefix: prefix), clock: WallClock { clock.now })
            let startMs = clock.now
            let oldMs = startMs - 600_000
            let old = TimeBucket.index(ofMs: oldMs, widthMs: TimeBucket.hotWidthMs)
            let current = TimeBucket.index(ofMs: startMs, widthMs: TimeBucket.hotWidthMs)
            func request(_ ms: Int64, _ route: String) -> Event {
                var e = Event(timestampMs: ms, service: "api", kind: .request)
                e.route = route
                e.method = "GET"
                e.status = 200
                e.durationMs = 12
                return e
            }
            var oracle = WindowData()
            var count = 0
            for i in 1...PartFolds.maxParts {
                let events = [request(oldMs, "/r\(i % 3)"), request(startMs, "/now")]
                let delta = BatchAggregate(events: events, rules: .init()).hot
                oracle.merge(delta)
                count += events.count
                try await store.commit(delta, position: UInt64(i), collector: "c")
                let oldParts = try await partNames(client, "\(prefix):{api}:h:\(old)").count
                let nowParts = try await partNames(client, "\(prefix):{api}:h:\(current)").count
                let totalParts = try await partNames(client, "\(prefix):{api}:totals").count
                // Written to every 1.1 s: no hash is quiet, so each keeps every part until it is full.
                #expect(oldParts == (i < PartFolds.maxParts ? i : 1), "commit \(i): \(oldParts) parts")
                #expect(nowParts == (i < PartFolds.maxParts ? i : 1), "commit \(i)")
                #expect(totalParts == (i < PartFolds.maxParts ? i : 1), "commit \(i)")
                let read = try await store.read(service: "api", buckets: min(old, current)...max(old, current))
                #expect(read == oracle, "commit \(i)")
                let totals = try await store.totals()
                #expect(totals.requests.values.reduce(0) { $0 + $1.count } == UInt64(count), "commit \(i)")
                clock.advance(1_100)
            }
            // Two more parts in the settled bucket; then commits elsewhere: it folds once quiet, not before.
            var position = UInt64(PartFolds.maxParts)
            func commit(_ events: [Event]) async throws {
                let delta = BatchAggregate(events: events, rules: .init()).hot
                oracle.merge(delta)
                position += 1
                try await store.commit(delta, position: position, collector: "c")
            }
            try await commit([request(oldMs, "/late")])
            clock.advance(1_100)
            try await commit([request(oldMs, "/later")])
            #expect(try await partNames(client, "\(prefix):{api}:h:\(old)").count == 3)
            clock.advance(PartFolds.quietMs - 1_100)
            try await commit([request(clock.now, "/elsewhere")])
            #expect(try await partNames(client, "\(prefix):{api}:h:\(old)").count == 3, "not quiet yet")
            await store.tidy { true }
            #expect(try await partNames(client, "\(prefix):{api}:h:\(old)").count == 3, "not quiet yet")
            clock.advance(1_100)
            try await commit([request(clock.now, "/elsewhere")])
            #expect(try await partNames(client, "\(prefix):{api}:h:\(old)").count == 3, "a commit folds full hashes only")
            await store.tidy { false }
            #expect(try await partNames(client, "\(prefix):{api}:h:\(old)").count == 3, "told to stop at once")
            clock.advance(1_000)
            await store.tidy { true }
            #expect(try await partNames(client, "\(prefix):{api}:h:\(old)").count == 1, "quiet: folded")
            let read = try await store.read(service: "api", buckets: old...TimeBucket.index(ofMs: clock.now, widthMs: TimeBucket.hotWidthMs))
            #expect(read == oracle)
        }
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
            delta.requests[Bucketed(RequestKey(service: "api", route: "/partial", method: "GET"), bucket: bucket)] =
                partial
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
                #expect(
                    s.count
                        == events.filter { $0.kind == .request && $0.service == k.service && $0.route == k.route }.count
                )
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
        for bad in [
            "s0z", "s6b10", "s2", "s2b", "s2bxx", "s2q", "s2b99999999999", "s2b1\u{0}", "s2zz", "s\u{0}z", "sz",
        ] {
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

    /// A commit takes its cells hash by hash (``RedisHotStore/hashOrder(_:service:)``): every cell exactly once, each
    /// (service, bucket) in one run, runs in order, and a run's cells are those of that service and bucket.
    @Test(arguments: [4, 5] as [UInt64])
    func cellsAreTakenOnceEachHashByHash(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let events = randomEvents(count: 4_000, baseMs: 1_800_000_000_000, spanMs: 3_600_000, rng: &rng)
        for cells in [BatchAggregate(events: events, rules: .init()).hot.requests, [:]] {
            let order = RedisHotStore.hashOrder(cells, service: \.service)
            #expect(order.count == cells.count)
            #expect(Set(order.map { cells.keys[$0.index] }) == Set(cells.keys))
            var seen: Set<[Int64]> = []
            var serviceOf: [Int: String] = [:]
            for (n, item) in order.enumerated() {
                let key = cells.keys[item.index]
                #expect(key.bucket == item.group.bucket)
                #expect(serviceOf[item.group.service, default: key.key.service] == key.key.service)
                serviceOf[item.group.service] = key.key.service
                let group = [Int64(item.group.service), item.group.bucket]
                if n > 0, order[n - 1].group != item.group {
                    let before = order[n - 1].group
                    #expect(before.service < item.group.service
                        || (before.service == item.group.service && before.bucket < item.group.bucket))
                    #expect(!seen.contains(group), "a hash came back after another")
                }
                seen.insert(group)
            }
            #expect(Set(serviceOf.values).count == serviceOf.count, "two numbers for one service")
        }
    }
}

/// Parts (``HotPart``) on their own: entries read back as written, a merge sums by field name as a dictionary does, and
/// malformed blobs stop the walk without a crash or a count from past the damage.
struct HotPartTests {
    @Test func entriesReadBackAndMergeSumsByFieldName() {
        var rng = SplitMix64(seed: 3)
        var blobs: [[UInt8]] = []
        var oracle: [[UInt8]: UInt64] = [:]
        for _ in 0..<20 {
            var blob: [UInt8] = []
            var written: [([UInt8], UInt64)] = []
            for _ in 0..<Int.random(in: 0..<60, using: &rng) {
                let field = Array("r\u{1f}/\(Int.random(in: 0..<30, using: &rng))\u{1f}GET\u{1f}c2".utf8)
                let value: UInt64 = [1, 127, 128, 300, 1 << 35, .max / 64].randomElement(using: &rng)!
                HotPart.append(field: field, value: value, to: &blob)
                written.append((field, value))
                oracle[field, default: 0] += value
            }
            var read: [([UInt8], UInt64)] = []
            #expect(HotPart.forEachEntry(blob[...]) { read.append((Array($0), $1)) })
            #expect(read.map(\.0) == written.map(\.0) && read.map(\.1) == written.map(\.1))
            blobs.append(blob)
        }
        var merged: [[UInt8]: UInt64] = [:]
        var names: [[UInt8]] = []
        #expect(
            HotPart.forEachEntry(HotPart.merge(blobs.map { $0[...] })[...]) {
                merged[Array($0)] = $1
                names.append(Array($0))
            })
        #expect(merged == oracle)
        #expect(Set(names).count == names.count, "one entry per field name")
        var extreme: [UInt8] = []
        HotPart.append(field: [UInt8](repeating: 0x41, count: 300), value: .max, to: &extreme)
        var seen: [(Int, UInt64)] = []
        #expect(HotPart.forEachEntry(extreme[...]) { seen.append(($0.count, $1)) })
        #expect(seen.count == 1 && seen[0] == (300, .max))
    }

    @Test func malformedPartsStopTheWalk() {
        var good: [UInt8] = []
        HotPart.append(field: Array("l\u{1f}info".utf8), value: 5, to: &good)
        let bad: [[UInt8]] = [
            good + [3, 0x41],  // a field name cut short
            good + [1, 0x41],  // no value
            good + [1, 0x41, 0x80, 0x80],  // a value cut short
            good + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],  // a length past 64 bits
            good + [1, 0x41] + [UInt8](repeating: 0xff, count: 9) + [0x02],  // a value past 64 bits
            good + [0xff, 0xff, 0xff, 0xff, 0x0f],  // a length past the blob
        ]
        for blob in bad {
            var seen: [UInt64] = []
            #expect(!HotPart.forEachEntry(blob[...]) { seen.append($1) })
            #expect(seen == [5], "\(blob)")
        }
        // A reader adds what comes before the damage and nothing after it.
        var reader = HotFieldReader(service: "api")
        reader.add(pairs: [
            .bulk(HotPart.newName()), .bulk(bad[0]), .bulk(Array("l\u{1f}warn".utf8)), .bulk(Array("2".utf8)),
        ])
        var out = WindowData()
        reader.finish(into: &out)
        #expect(out.logs["api"]?.count(.info) == 5 && out.logs["api"]?.count(.warn) == 2)
    }

    /// What ``PartFolds`` hands out: keys with two parts or more once their bucket has settled and no part came for
    /// ``PartFolds/quietMs``, any key at ``PartFolds/maxParts``, never a key of one part; the table at most once a
    /// second; expired keys forgotten.
    @Test func foldsAreDueOnceSettledOrFullAndOnlyWithTwoParts() {
        let folds = PartFolds()
        let bucket: Int64 = 1_000_000
        let end = (bucket + 1) * TimeBucket.hotWidthMs
        let settled = end + PartFolds.settleMs
        folds.note([("two", bucket), ("one", bucket), ("totals", nil), ("recent", bucket + 100)], nowMs: end)
        // The second part of "two" comes late: it waits until quiet.
        folds.note([("two", bucket), ("recent", bucket + 100)], nowMs: settled - 1_000)
        for _ in 1..<PartFolds.maxParts { folds.note([("totals", nil)], nowMs: end) }
        #expect(folds.due(nowMs: settled - 1, retentionMs: 3_600_000, limit: 10) == ["totals"])
        #expect(folds.due(nowMs: settled + 1_000, retentionMs: 3_600_000, limit: 10) == [], "not quiet")
        #expect(folds.due(nowMs: settled + PartFolds.quietMs - 1_001, retentionMs: 3_600_000, limit: 10) == [])
        #expect(folds.due(nowMs: settled + PartFolds.quietMs - 1_000, retentionMs: 3_600_000, limit: 10) == [], "once a second")
        #expect(folds.due(nowMs: settled + PartFolds.quietMs, retentionMs: 3_600_000, limit: 10) == ["two"])
        #expect(folds.count == 2, "one and recent wait")
        #expect(folds.due(nowMs: end + 3_600_001 + 2_000, retentionMs: 3_600_000, limit: 10) == ["recent"])
        #expect(folds.count == 0, "one expired and is forgotten")
    }

    /// ``PartFolds/full(limit:)`` hands out the keys that reached ``PartFolds/maxParts`` (oldest first, without a
    /// scan, not twice, not those ``PartFolds/due(nowMs:retentionMs:limit:)`` handed out already), and
    /// ``PartFolds/putBack(_:)`` keeps keys handed out but not folded, with the parts noted meanwhile.
    @Test func fullKeysAreHandedOutOnceAndKeysPutBackAreDueAgain() {
        let folds = PartFolds()
        let bucket: Int64 = 1_000_000
        let end = (bucket + 1) * TimeBucket.hotWidthMs
        for _ in 1..<PartFolds.maxParts { folds.note([("a", bucket), ("b", bucket), ("c", bucket)], nowMs: end) }
        #expect(folds.full(limit: 10) == [], "none full yet")
        folds.note([("b", bucket)], nowMs: end)
        folds.note([("a", bucket)], nowMs: end)
        folds.note([("c", bucket)], nowMs: end)
        #expect(folds.full(limit: 1) == ["b"])
        // "a" is handed out by a scan first: the full list skips it.
        #expect(folds.due(nowMs: end, retentionMs: 3_600_000, limit: 1).count == 1)
        let left = folds.full(limit: 10)
        #expect(left.count == 1 && left != ["b"], "\(left)")
        #expect(folds.full(limit: 10) == [], "not twice")
        #expect(folds.count == 0)

        // Put back: due again at the next scan, with the part noted meanwhile counted.
        folds.note([("d", bucket), ("d", bucket)], nowMs: end)
        let settled = end + PartFolds.settleMs + PartFolds.quietMs
        let handed = folds.dueEntries(nowMs: settled, retentionMs: 3_600_000, limit: 10)
        #expect(handed.map(\.key) == ["d"] && folds.count == 0)
        folds.note([("d", bucket)], nowMs: end)
        folds.putBack(handed)
        #expect(folds.count == 1)
        #expect(folds.due(nowMs: settled + 1_000, retentionMs: 3_600_000, limit: 10) == ["d"])
        // Counted from what was put back: two parts, then maxParts - 2 more make it full.
        folds.putBack(handed)
        for _ in 0..<(PartFolds.maxParts - 3) { folds.note([("d", bucket)], nowMs: end) }
        #expect(folds.full(limit: 10) == [])
        folds.note([("d", bucket)], nowMs: end)
        #expect(folds.full(limit: 10) == ["d"])
        // A sum past the limit: full as soon as it is put back.
        folds.note([("e", bucket), ("e", bucket)], nowMs: end)
        let e = folds.dueEntries(nowMs: settled + 2_000, retentionMs: 3_600_000, limit: 10)
        #expect(e.map(\.key) == ["e"])
        for _ in 0..<(PartFolds.maxParts - 1) { folds.note([("e", bucket)], nowMs: end) }
        folds.putBack(e)
        #expect(folds.full(limit: 10) == ["e"], "\(PartFolds.maxParts + 1) parts")
    }
}
