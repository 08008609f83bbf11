import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

@Suite struct EventCodecTests {
    @Test func roundTripsEveryField() throws {
        var rng = SplitMix64(seed: 7)
        var events = randomEvents(count: 500, baseMs: 1_795_000_000_000, spanMs: 600_000, rng: &rng)
        var funnel = Event(timestampMs: -5, service: "ünïcode ✓", kind: .event)
        funnel.name = "report_viewed"
        funnel.entity = "user-1"
        funnel.message = "m"
        funnel.attempt = 3
        events.append(funnel)
        let bytes = EventCodec.encode(events)
        let decoded = try bytes.withUnsafeBytes { try EventCodec.decode($0) }
        #expect(decoded == events)
    }

    /// The encoder writes through a pointer into a buffer sized beforehand: every field at its widest (ten-byte varints,
    /// a string whose length needs three bytes, NUL and non-ASCII bytes), at its narrowest (empty strings, zeros) and no
    /// event at all still round-trip.
    @Test func widestAndNarrowestFieldsRoundTrip() throws {
        let long = String(repeating: "\u{0}é/x", count: 30_000)
        var widest = Event(timestampMs: .min, service: long, kind: .job)
        (widest.route, widest.method, widest.queue, widest.job, widest.jobID) = (long, long, long, long, long)
        (widest.name, widest.entity, widest.message) = (long, long, long)
        (widest.status, widest.attempt, widest.jobEvent, widest.level) = (.min, .max, .retried, .fatal)
        (widest.durationMs, widest.waitMs) = (-1e300, .nan)
        var narrowest = Event(timestampMs: 0, service: "", kind: .request)
        (narrowest.route, narrowest.method, narrowest.status, narrowest.durationMs) = ("", "", 0, 0)
        var large = Event(timestampMs: .max, service: "s", kind: .log)
        (large.level, large.message, large.durationMs) = (.debug, "m", .infinity)
        for events in [[], [widest], [narrowest, widest, large], Array(repeating: widest, count: 3)] {
            let bytes = EventCodec.encode(events)
            let decoded = try bytes.withUnsafeBytes { try EventCodec.decode($0) }
            #expect(decoded.count == events.count)
            for (a, b) in zip(decoded, events) {
                // NaN is not equal to itself: compare its bits.
                #expect(a.waitMs?.bitPattern == b.waitMs?.bitPattern)
                var (x, y) = (a, b)
                (x.waitMs, y.waitMs) = (nil, nil)
                #expect(x == y)
            }
        }
    }

    /// With the ingest decoder's table, records decode to the same events, and once a record's strings are in the table
    /// (published at the end of its decoding, as a batch of the ingest decoder publishes them), an identity string
    /// longer than a `String` holds inline (service, route, queue, job) is one storage in every later record.
    @Test func identityStringsComeFromTheTable() throws {
        var rng = SplitMix64(seed: 9)
        var events = randomEvents(count: 400, baseMs: 1_795_000_000_000, spanMs: 600_000, rng: &rng)
        let name = "service-with-a-long-name-\u{1F600}"
        for i in events.indices where i % 3 == 0 { events[i].service = name }
        var job = Event(timestampMs: 1, service: name, kind: .job)
        (job.queue, job.job, job.jobID, job.jobEvent) = ("a-queue-of-many-letters", "a-job-type-of-many-letters", "j-1", .started)
        events.append(job)
        let table = IdentityStrings()
        let bytes = EventCodec.encode(events)
        let first = try bytes.withUnsafeBytes { try EventCodec.decode($0, strings: table) }
        let second = try bytes.withUnsafeBytes { try EventCodec.decode($0, strings: table) }
        let third = try bytes.withUnsafeBytes { try EventCodec.decode($0, strings: table) }
        #expect(first == events && second == events && third == events)
        func storage(_ s: String?) -> UnsafeRawPointer? {
            guard var s else { return nil }
            return s.withUTF8 { UnsafeRawPointer($0.baseAddress) }
        }
        var shared: [String: UnsafeRawPointer?] = [:]
        for (a, b) in zip(second, third) {
            for (x, y) in [(a.service, b.service), (a.route, b.route), (a.queue, b.queue), (a.job, b.job)] as [(String?, String?)]
            where (x?.utf8.count ?? 0) > 15 {
                #expect(storage(x) == storage(y), "\(x ?? "") decoded twice is two strings")
                #expect(shared[x!, default: storage(x)] == storage(x), "\(x ?? "") is two strings in one record")
                shared[x!] = storage(x)
            }
        }
        let long = Set(events.flatMap { [$0.service, $0.route, $0.queue, $0.job] }.compactMap { $0 }.filter { $0.utf8.count > 15 })
        #expect(Set(shared.keys) == long && long.count >= 3)
        // Strings the table does not share (methods, ids, messages) decode as before.
        #expect(first.map(\.jobID) == events.map(\.jobID) && first.map(\.message) == events.map(\.message))
    }

    /// A string length past the record (up to the largest varint) is an error, not a trap.
    @Test func lengthsPastTheRecordAreErrors() {
        var event = EventCodec.encode([Event(timestampMs: 1, service: "s", kind: .log)])
        // version, the writer's mark (8 bytes), count, timestamp, kind: then the service's length.
        event.removeSubrange(12...)
        for length in [[0x7F] as [UInt8], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]]
        {
            let bytes = event + length + Array("s".utf8)
            #expect(throws: CollectorError.self) { try bytes.withUnsafeBytes { try EventCodec.decode($0) } }
            #expect(throws: CollectorError.self) {
                try bytes.withUnsafeBytes { try EventCodec.decode($0, strings: IdentityStrings()) }
            }
        }
    }

    /// A record this process wrote reads back for aggregation with each request's series key (labels skipped unless
    /// the request names an entity, which funnel steps match on), and aggregates to exactly what the whole events do
    /// under the same funnel; another process's record, or one written without keys, decodes whole with no keys.
    @Test func ownRecordsReadBackWithTheirSeriesKeys() throws {
        var rng = SplitMix64(seed: 21)
        var events = randomEvents(count: 600, baseMs: 1_795_000_000_000, spanMs: 3_600_000, rng: &rng)
        for i in events.indices where events[i].kind == .request && i % 7 == 0 {
            events[i].entity = "user-\(i % 5)"
            events[i].route = "/checkout-and-a-long-route-name"
        }
        events[1].service = "a-service-name-longer-than-fifteen"
        let keys = events.map { $0.kind == .request ? RequestKey(service: $0.service, route: $0.route ?? "/", method: $0.method ?? "ANY") : nil }
        let funnel = FunnelDefinition(
            name: "checkout", windowMs: 3_600_000,
            steps: [.init(name: "checkout", matcher: .fields(["route": "/checkout-and-a-long-route-name"]))])
        let rules = AggregationRules(funnels: [funnel])
        var whole = Delta()
        BatchAggregate.add(events, rules: rules, widthMs: TimeBucket.hotWidthMs, to: &whole)
        #expect(!whole.funnelSteps.isEmpty)

        let own = EventCodec.encode(events, requestKeys: keys)
        let (read, readKeys) = try own.withUnsafeBytes { try EventCodec.decodeForAggregation($0, strings: IdentityStrings()) }
        #expect(readKeys == keys)
        for (a, b) in zip(read, events) {
            if b.kind == .request && b.entity == nil {
                #expect(a.service.isEmpty && a.route == nil && a.method == nil)
                #expect(a.timestampMs == b.timestampMs && a.status == b.status && a.durationMs == b.durationMs)
            } else {
                #expect(a == b)
            }
        }
        var keyed = Delta()
        BatchAggregate.add(read, requestKeys: readKeys, rules: rules, widthMs: TimeBucket.hotWidthMs, to: &keyed)
        #expect(keyed == whole)
        // Decoded whole, the same record is the events.
        #expect(try own.withUnsafeBytes { try EventCodec.decode($0) } == events)

        let other = EventCodec.encode(events, requestKeys: keys, mark: EventCodec.processMark &+ 1)
        let (otherEvents, otherKeys) = try other.withUnsafeBytes { try EventCodec.decodeForAggregation($0) }
        #expect(otherKeys == nil && otherEvents == events)
        let unkeyed = EventCodec.encode(events)
        let (plain, plainKeys) = try unkeyed.withUnsafeBytes { try EventCodec.decodeForAggregation($0) }
        #expect(plain == events && plainKeys?.allSatisfy { $0 == nil } == true)
    }

    /// A series number this process never gave, in a record with its mark, is an error rather than a trap.
    @Test func unknownSeriesNumbersAreErrors() throws {
        let e = Event(timestampMs: 1, service: "s", kind: .request, route: "/", method: "GET", status: 200)
        let given = UInt32(SeriesLabels.shared.count)
        for number in [given + 1_000, UInt32.max] {
            var bytes = EventCodec.encode([e])
            // version, mark, count, timestamp, kind, then the number (0: none).
            #expect(bytes[12] == 0)
            var varint: [UInt8] = []
            var v = UInt64(number)
            while v >= 0x80 { varint.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
            varint.append(UInt8(v))
            bytes.replaceSubrange(12...12, with: varint)
            #expect(throws: CollectorError.self) { try bytes.withUnsafeBytes { try EventCodec.decodeForAggregation($0) } }
            // Decoded whole, the labels are read instead: the event as written.
            #expect(try bytes.withUnsafeBytes { try EventCodec.decode($0) } == [e])
        }
    }

    /// Version 1 records (written before series numbers) still decode, whole and for aggregation.
    @Test func versionOneRecordsStillDecode() throws {
        // A request: time 5 (zigzag 10), kind, service "api", mask route|method|status|duration, "/a", "GET", 200, 1.5.
        var bytes: [UInt8] = [1, 1, 10, EventKind.request.rawValue, 3] + Array("api".utf8)
        bytes += [0x83, 0x06] + [2] + Array("/a".utf8) + [3] + Array("GET".utf8) + [0x90, 0x03]
        var d = (1.5).bitPattern
        while d >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: d) | 0x80); d >>= 7 }
        bytes.append(UInt8(d))
        let expected = Event(timestampMs: 5, service: "api", kind: .request, route: "/a", method: "GET", status: 200, durationMs: 1.5)
        #expect(try bytes.withUnsafeBytes { try EventCodec.decode($0) } == [expected])
        let (events, keys) = try bytes.withUnsafeBytes { try EventCodec.decodeForAggregation($0) }
        #expect(events == [expected] && keys == nil)
    }

    @Test func truncatedPayloadIsAnError() {
        var rng = SplitMix64(seed: 8)
        let bytes = EventCodec.encode(randomEvents(count: 10, baseMs: 1_000_000, spanMs: 1000, rng: &rng))
        let cut = Array(bytes.dropLast(3))
        #expect(throws: CollectorError.self) { try cut.withUnsafeBytes { try EventCodec.decode($0) } }
    }
}
