// PromQL evaluation cost at 10 000 series, without HTTP, stores or other clients: the CPU one evaluation of each
// query shape of `Benchmarks/query_bench.sh` takes on one thread, so that a change to the evaluator can be compared
// in a few seconds on a shared machine (the query bench's p99 moves with the machine's load; CPU time per
// evaluation much less).
//
//   swift build -c release --product promql-bench && .build/release/promql-bench [seconds per shape, default 2] [shape]
//
// With a shape name (or part of one) only the matching shapes run: what `perf record` of one shape needs.
//
// The series are those of the query bench (20 services × 500 routes × GET, window 5m, the latency quantiles 0.5
// and 0.99, rate and error ratio), served the way the collector serves a selection at the current time from its
// sample memo: already in label order, filtered only by the matchers some sample may fail.
import Foundation
import PromQL

/// The families of the query bench as presorted samples, per (name, quantile).
struct BenchSource: SampleSource {
    var families: [String: [Sample]] = [:]

    init(services: Int, routes: Int) {
        var rng = SystemRandomNumberGenerator()
        // One string per service and route for every family, as the collector's families share its series keys'
        // strings (equal strings that are one object compare without reading their bytes).
        let serviceNames = (0..<services).map { "svc-\(String(format: "%02d", $0))" }
        let routeNames = (0..<routes).map { "/api/v1/resource-\($0)/items" }
        func labels(_ name: String, _ s: Int, _ r: Int, quantile: String?) -> Labels {
            var pairs: [(String, String)] = [
                (Labels.metricName, name), ("service", serviceNames[s]),
                ("route", routeNames[r]), ("method", "GET"), ("window", "5m"),
            ]
            if let quantile { pairs.append(("quantile", quantile)) }
            return Labels(pairs)
        }
        for (name, quantile) in [
            ("opsight_request_rate", nil), ("opsight_request_error_ratio", nil),
            ("opsight_request_latency_seconds", "0.5"), ("opsight_request_latency_seconds", "0.99"),
        ] as [(String, String?)] {
            var samples: [Sample] = []
            for s in 0..<services {
                for r in 0..<routes {
                    samples.append(
                        Sample(labels: labels(name, s, r, quantile: quantile), value: Double.random(in: 0..<1, using: &rng)))
                }
            }
            families[name + (quantile ?? "")] = samples.sorted { $0.labels < $1.labels }
        }
    }

    func select(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> [Sample] {
        try await selectOrdered(matchers, at: time).samples
    }

    func selectOrdered(_ matchers: [LabelMatcher], at time: EvaluationTime) async throws -> (
        samples: [Sample], sorted: Bool
    ) {
        func equal(_ name: String) -> String? { matchers.first { $0.name == name && $0.op == .equal }?.value }
        guard let name = equal(Labels.metricName), equal("window") == "5m",
            let samples = families[name + (equal("quantile") ?? "")]
        else { return ([], true) }
        let rest = matchers.filter { $0.op != .equal }
        return (LabelMatcher.filter(samples, rest), true)
    }
}

func processCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

let seconds = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 2
let source = BenchSource(services: 20, routes: 500)
let evaluator = Evaluator(source: source)
let shapes: [(String, String)] = [
    ("max_p99_by_service", #"max by (service) (opsight_request_latency_seconds{window="5m",quantile="0.99"})"#),
    ("sum_rate_by_service", #"sum by (service) (opsight_request_rate{window="5m"})"#),
    (
        "errors_on_ratio",
        #"sum by (service) (opsight_request_rate{window="5m"} * on(service, route, method) opsight_request_error_ratio{window="5m"}) / on(service) sum by (service) (opsight_request_rate{window="5m"})"#
    ),
    (
        "p99_over_p50_ignoring",
        #"count(opsight_request_latency_seconds{window="5m",quantile="0.99"} >= ignoring(quantile) opsight_request_latency_seconds{window="5m",quantile="0.5"})"#
    ),
    (
        "regex_sum_by_service",
        #"sum by (service) (opsight_request_rate{window="5m",route=~"/api/v1/.*",service=~"svc-0.*"})"#
    ),
    ("selector_10000", #"opsight_request_rate{window="5m"}"#),
]
print("shape cpu_us_p50 cpu_us_p90 wall_us_p50 evaluations")
let only = CommandLine.arguments.dropFirst(2).first
for (name, query) in shapes where only.map(name.contains) ?? true {
    let expr = try Parser.parse(query)
    var cpu: [UInt64] = []
    var wall: [UInt64] = []
    let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
    while DispatchTime.now().uptimeNanoseconds < end || cpu.count < 5 {
        let c0 = processCPUNanoseconds()
        let w0 = DispatchTime.now().uptimeNanoseconds
        _ = try await evaluator.evaluate(expr, at: .now(1_800_000_000_000))
        wall.append(DispatchTime.now().uptimeNanoseconds - w0)
        cpu.append(processCPUNanoseconds() - c0)
    }
    cpu.sort()
    wall.sort()
    func us(_ v: [UInt64], _ q: Double) -> String { String(format: "%.0f", Double(v[Int(Double(v.count - 1) * q)]) / 1000) }
    print("\(name) \(us(cpu, 0.5)) \(us(cpu, 0.9)) \(us(wall, 0.5)) \(cpu.count)")
}
