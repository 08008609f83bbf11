import Foundation
import Logging
import OpsightMetrics
import OpsightTestSupport
import PromQL
import Testing

@testable import Collector
@testable import QueryModel

/// The memo of built samples behind ``MetricFamilies/select(_:at:)``: served only for the same version of a cached
/// window, and always what a build without it selects.
@Suite struct SampleMemoTests {
    static let windows: [Int64] = [60_000, 300_000]

    /// Families over a hot store and a cache of it, and the same families without the memo (the oracle).
    struct Fixture {
        let store: InMemoryMetricsStore
        let clock: ManualClock
        let reader: MetricsReader
        let families: MetricFamilies
        let oracle: MetricFamilies
        var position: UInt64 = 0

        init() {
            let store = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
            let clock = ManualClock(1_795_000_003_456)
            self.store = store
            self.clock = clock
            let cache = WindowCache(
                configuration: .init(windowsMs: SampleMemoTests.windows), feed: store, logger: Logger(label: "test"),
                now: { clock.now })
            let reader = MetricsReader(hot: store, durable: store, cache: cache, clock: WallClock { clock.now })
            self.reader = reader
            families = MetricFamilies(
                configuration: .init(windowsMs: SampleMemoTests.windows), reader: reader, totals: store,
                selfMetrics: SelfMetrics(), clock: WallClock { clock.now })
            var plain = MetricFamilies.Configuration(windowsMs: SampleMemoTests.windows)
            plain.memoizesSamples = false
            oracle = MetricFamilies(
                configuration: plain, reader: reader, totals: store, selfMetrics: SelfMetrics(),
                clock: WallClock { clock.now })
        }

        mutating func commit(_ events: [Event]) async throws {
            position += 1
            try await store.commit(
                BatchAggregate(events: events, rules: .init()).hot, position: position, collector: "c")
        }

        var now: EvaluationTime { .now(clock.now) }
    }

    func matchers(_ pairs: [(String, LabelMatcher.Operator, String)]) throws -> [LabelMatcher] {
        try pairs.map { try LabelMatcher(name: $0.0, op: $0.1, value: $0.2) }
    }

    func sorted(_ samples: [Sample]) -> [Sample] { samples.sorted { $0.labels < $1.labels } }

    @Test func aSecondReadAtOneVersionIsServedFromTheMemo() async throws {
        var rng = SplitMix64(seed: 7)
        var f = Fixture()
        try await f.commit(randomEvents(count: 300, baseMs: f.clock.now, spanMs: 250_000, rng: &rng))
        let query = try matchers([
            ("__name__", .equal, "opsight_request_latency_seconds"), ("window", .equal, "5m"),
            ("quantile", .equal, "0.99"),
        ])
        let first = try await f.families.select(query, at: f.now)
        let second = try await f.families.select(query, at: f.now)
        #expect(f.families.memo.builds == 1)
        #expect(!first.isEmpty)
        #expect(first == second)
        #expect(sorted(first) == sorted(try await f.oracle.select(query, at: f.now)))
        // A matcher the memo's samples do not all satisfy is still applied to them.
        let api = try await f.families.select(query + matchers([("service", .regexMatch, "api|web")]), at: f.now)
        #expect(f.families.memo.builds == 1)
        #expect(!api.isEmpty && api.count < first.count)
        #expect(api == first.filter { ["api", "web"].contains($0.labels["service"]) })
    }

    @Test func newDataInTheWindowIsANewVersion() async throws {
        var rng = SplitMix64(seed: 8)
        var f = Fixture()
        try await f.commit(randomEvents(count: 200, baseMs: f.clock.now, spanMs: 50_000, rng: &rng))
        let query = try matchers([("__name__", .equal, "opsight_request_rate"), ("window", .equal, "1m")])
        let before = try await f.families.select(query, at: f.now)
        var e = Event(timestampMs: f.clock.now - 1, service: "new", kind: .request)
        e.route = "/new"
        e.method = "GET"
        e.status = 200
        e.durationMs = 5
        try await f.commit([e])
        let after = try await f.families.select(query, at: f.now)
        #expect(f.families.memo.builds == 2)
        #expect(after.count == before.count + 1)
        #expect(after.contains { $0.labels["service"] == "new" })
        #expect(sorted(after) == sorted(try await f.oracle.select(query, at: f.now)))
        // The window moving on (its oldest events leave) is a new version too.
        f.clock.advance(30_000)
        let moved = try await f.families.select(query, at: f.now)
        #expect(f.families.memo.builds == 3)
        #expect(sorted(moved) == sorted(try await f.oracle.select(query, at: f.now)))
    }

    @Test func serviceFilteredAndPastReadsAreNotServedFromTheMemo() async throws {
        var rng = SplitMix64(seed: 9)
        var f = Fixture()
        try await f.commit(randomEvents(count: 300, baseMs: f.clock.now, spanMs: 250_000, rng: &rng))
        let query = try matchers([("__name__", .equal, "opsight_request_rate"), ("window", .equal, "5m")])
        let all = try await f.families.select(query, at: f.now)
        #expect(f.families.memo.builds == 1)
        // One service: read filtered, with no version, never the memo's samples of all services.
        #expect(try await f.reader.window(service: nil, windowMs: 300_000, at: f.now).version != nil)
        #expect(try await f.reader.window(service: "api", windowMs: 300_000, at: f.now).version == nil)
        #expect(try await f.reader.window(service: nil, windowMs: 300_000, at: .at(f.clock.now)).version == nil)
        let api = try await f.families.select(query + matchers([("service", .equal, "api")]), at: f.now)
        #expect(!api.isEmpty && api.allSatisfy { $0.labels["service"] == "api" } && api.count < all.count)
        // A past time (the same instant, read on the grid: events since the last 10 s are left out).
        let past = try await f.families.select(query, at: .at(f.clock.now))
        #expect(sorted(past) == sorted(try await f.oracle.select(query, at: .at(f.clock.now))))
        #expect(past != all)
        #expect(f.families.memo.builds == 1)
        #expect(f.families.memo.keys.count == 1)
    }

    /// Random commits, time steps and selections: every memoized selection equals the oracle's.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func equalsABuildWithoutTheMemo(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        var f = Fixture()
        try await f.commit(randomEvents(count: 400, baseMs: f.clock.now, spanMs: 400_000, rng: &rng))
        let names = Array(MetricFamilies.windowedNames).sorted()
        for _ in 0..<60 {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                try await f.commit(
                    randomEvents(
                        count: Int.random(in: 1...20, using: &rng), baseMs: f.clock.now, spanMs: 20_000, rng: &rng))
            case 1: f.clock.advance(Int64.random(in: 0...15_000, using: &rng))
            default: break
            }
            var query = try matchers([("__name__", .equal, names.randomElement(using: &rng)!)])
            if Bool.random(using: &rng) {
                query += try matchers([("window", .equal, ["1m", "5m", "60s"].randomElement(using: &rng)!)])
            }
            if Bool.random(using: &rng) {
                query += try matchers([
                    ("quantile", .equal, ["0.5", "0.99", "0.990", "0.3"].randomElement(using: &rng)!)
                ])
            }
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: query += try matchers([("service", .regexMatch, "a.*|w.*")])
            case 1: query += try matchers([("route", .notEqual, "/a")])
            case 2: query += try matchers([("window", .equal, "")])
            default: break
            }
            let (memoized, inOrder) = try await f.families.selectOrdered(query, at: f.now)
            let built = try await f.oracle.select(query, at: f.now)
            #expect(sorted(memoized) == sorted(built), "seed \(seed): \(query)")
            if inOrder { #expect(memoized == sorted(memoized), "seed \(seed): \(query)") }
        }
        #expect(f.families.memo.builds < 60 * 2)
    }

    /// The request families built in label order directly (`RequestSamples`) equal the general build, in the same
    /// order, over label values that sort in unexpected ways (quotes, backslashes, combining marks, NUL, upper case,
    /// methods other than GET) and as series come and go between builds; a window holding an empty label value (an
    /// absent label) is built the general way and still equals it.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func requestFamiliesBuiltInOrderEqualTheGeneralBuild(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        var f = Fixture()
        let services = ["api", "Api", "a\"pi", "w\\x", "\u{0}z", "é", "e\u{301}x"]
        let routes = ["/a", "/a/b", "/A", "/ü", "/u\u{308}", "/a b", "/"]
        let methods = ["GET", "POST", "DELETE", "get"]
        func events(_ n: Int, emptyRoute: Bool) -> [Event] {
            (0..<n).map { _ in
                var e = Event(
                    timestampMs: f.clock.now - Int64.random(in: 0..<250_000, using: &rng),
                    service: services.randomElement(using: &rng)!, kind: .request)
                e.route = emptyRoute && Int.random(in: 0..<10, using: &rng) == 0 ? "" : routes.randomElement(using: &rng)!
                e.method = methods.randomElement(using: &rng)!
                e.status = [200, 500].randomElement(using: &rng)!
                e.durationMs = exp(Double.random(in: 0...8, using: &rng))
                return e
            }
        }
        let names = ["opsight_request_latency_seconds", "opsight_request_rate", "opsight_request_error_ratio"]
        for step in 0..<24 {
            try await f.commit(events(Int.random(in: 1...60, using: &rng), emptyRoute: step >= 18))
            if Bool.random(using: &rng) { f.clock.advance(Int64.random(in: 0...60_000, using: &rng)) }
            for name in names {
                var query = try matchers([("__name__", .equal, name), ("window", .equal, ["1m", "5m"][step % 2])])
                if step % 3 == 0 { query += try matchers([("quantile", .equal, "0.99")]) }
                let (memoized, inOrder) = try await f.families.selectOrdered(query, at: f.now)
                let built = sorted(try await f.oracle.select(query, at: f.now))
                #expect(inOrder, "seed \(seed) step \(step): \(query)")
                #expect(memoized == built, "seed \(seed) step \(step): \(query)")
            }
        }
    }

    /// The per-service sums behind the services overview, kept per window version, always equal a fresh sum of the
    /// same read as commits land and time moves on (a stale sum would be the last version's).
    @Test func perServiceSumsFollowTheWindow() async throws {
        var rng = SplitMix64(seed: 5)
        var f = Fixture()
        try await f.commit(randomEvents(count: 300, baseMs: f.clock.now, spanMs: 300_000, rng: &rng))
        for step in 0..<40 {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                try await f.commit(
                    randomEvents(
                        count: Int.random(in: 1...10, using: &rng), baseMs: f.clock.now, spanMs: 20_000, rng: &rng))
            case 1: f.clock.advance(Int64.random(in: 0...15_000, using: &rng))
            default: break
            }
            for w in Self.windows {
                let result = try await f.reader.window(service: nil, windowMs: w, at: f.now)
                #expect(result.version != nil)
                let sums = f.reader.requestsByService(result, windowMs: w)
                let fresh = try await f.reader.window(service: nil, windowMs: w, at: f.now).data.requestsByService()
                #expect(sums.mapValues(\.count) == fresh.mapValues(\.count), "step \(step) window \(w)")
                #expect(sums.mapValues(\.errors) == fresh.mapValues(\.errors), "step \(step) window \(w)")
                #expect(
                    sums.mapValues { $0.latency.quantile(0.99) } == fresh.mapValues { $0.latency.quantile(0.99) },
                    "step \(step) window \(w)")
            }
        }
    }

    @Test func theLeastRecentlyUsedEntriesGoPastTheBound() {
        let memo = SampleMemo(maxSamples: 10)
        func entry(_ n: Int) -> SampleMemo.Entry {
            .init(samples: (0..<n).map { Sample(labels: ["i": "\($0)"], value: 1) })
        }
        func key(_ w: Int64) -> SampleMemo.Key { .init(name: "m", windowMs: w, quantiles: []) }
        memo.store(entry(4), for: key(1), version: .cached(1))
        memo.store(entry(4), for: key(2), version: .cached(1))
        #expect(memo.entry(key(1), version: .cached(1)) != nil)  // key 2 is now the least recently used
        #expect(memo.entry(key(1), version: .cached(2)) == nil)
        memo.store(entry(4), for: key(3), version: .cached(1))
        #expect(memo.keys == [key(1), key(3)])
        memo.store(entry(11), for: key(4), version: .cached(1))
        #expect(memo.keys == [key(1), key(3)])
        #expect(memo.entry(key(3), version: .combined(cold: 1, tail: 1)) == nil)
    }
}
