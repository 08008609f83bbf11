import Collector
import Foundation
import OpsightMetrics
import PromQL
import Testing

@testable import QueryModel

/// ``RequestSamples`` carried from step to step as a range query carries it (the last order, the label cache) builds
/// what a build from nothing builds, as series come and go, move between a long window's two parts, and the tail
/// appears and empties.
@Suite struct RequestSamplesTests {
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func buildsCarriedAcrossStepsEqualFreshBuilds(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let services = ["api", "b", "é", "e\u{301}"]
        let routes = ["/a", "/b", "/c/:id", "/"]
        let methods = ["GET", "POST"]
        let universe = services.flatMap { s in
            routes.flatMap { r in methods.map { RequestKey(service: s, route: r, method: $0) } }
        }
        func stats() -> RequestStats {
            var s = RequestStats()
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                s.record(
                    status: [200, 500].randomElement(using: &rng)!,
                    durationMs: exp(Double.random(in: 0...8, using: &rng)),
                    isError: Bool.random(using: &rng))
            }
            if Int.random(in: 0..<5, using: &rng) == 0 { s.latency = LogSketch() }
            return s
        }
        func part(_ chance: Int) -> WindowData {
            var d = WindowData()
            for k in universe where Int.random(in: 0..<100, using: &rng) < chance { d.requests[k] = stats() }
            return d
        }
        let families: [(String, [Double])] = [
            ("opsight_request_latency_seconds", [0.5, 0.99, 0.95]), ("opsight_request_latency_seconds", [0.9]),
            ("opsight_request_rate", []), ("opsight_request_error_ratio", []),
        ]
        for (name, quantiles) in families {
            var order: [RequestKey]? = nil
            var cache: RequestSamples.LabelCache? = RequestSamples.LabelCache()
            // A run of steps over much the same series (most steps), with now and then a change of the set.
            var cold = part(70)
            var tail: WindowData? = nil
            for step in 0..<60 {
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: cold = part(Int.random(in: 0...100, using: &rng))
                case 1: tail = Bool.random(using: &rng) ? part(30) : nil
                case 2:
                    // The same series, other figures.
                    for k in cold.requests.keys { cold.requests[k] = stats() }
                default: break
                }
                let carried = RequestSamples.build(
                    name: name, windowMs: 300_000, data: cold, tail: tail, quantiles: quantiles, previousOrder: order,
                    labelCache: &cache)
                let fresh = RequestSamples.build(
                    name: name, windowMs: 300_000, data: cold, tail: tail, quantiles: quantiles, previousOrder: nil)
                #expect(carried?.samples == fresh?.samples, "seed \(seed) \(name) step \(step)")
                #expect(carried?.order == fresh?.order, "seed \(seed) \(name) step \(step)")
                order = carried?.order ?? order
            }
        }
    }

    /// Series of one route share its text in their labels, but only byte for byte: a route written precomposed (one
    /// service's) and one written with a combining mark (another's) are equal `String`s, and each keeps its bytes.
    @Test func sharedRoutesKeepEachSeriesBytes() throws {
        var data = WindowData()
        let long = "/a/very/long/route/template/:id"
        let series = [("a", "/\u{FC}"), ("b", "/u\u{308}"), ("c", "/\u{FC}"), ("a", long), ("b", long), ("c", long)]
        for (service, route) in series {
            var s = RequestStats()
            s.record(status: 200, durationMs: 3, isError: false)
            data.requests[RequestKey(service: service, route: route, method: "GET")] = s
        }
        let built = try #require(
            RequestSamples.build(
                name: "opsight_request_rate", windowMs: 60_000, data: data, quantiles: [], previousOrder: nil))
        var seen: [[String]] = []
        for sample in built.samples {
            let pairs = sample.labels.pairs
            let service = try #require(pairs.first { $0.name == "service" }).value
            let route = try #require(pairs.first { $0.name == "route" }).value
            seen.append([service, String(describing: Array(route.utf8))])
        }
        let want = series.map { [$0.0, String(describing: Array($0.1.utf8))] }
        #expect(seen.sorted { $0.lexicographicallyPrecedes($1) } == want.sorted { $0.lexicographicallyPrecedes($1) })
    }
}
