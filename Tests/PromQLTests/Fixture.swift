import PromQL

/// A store of Opsight's SPEC §6 series with hand-picked, exactly representable values.
enum Fixture {
    /// The evaluation time used by the tests (unix ms).
    static let time: Int64 = 1_795_312_800_000

    /// Every series of the fixture, recorded 10 s before `time`.
    static let source: InMemorySampleSource = {
        var source = InMemorySampleSource()
        source.add(samples, at: time - 10_000)
        return source
    }()

    /// An evaluator over `source`.
    static let evaluator = Evaluator(source: source)

    /// Routes: (service, route, method, 5m error ratio, 1h error ratio, 5m rate, 1h rate, p50, p95, p99).
    static let routes: [(String, String, String, Double, Double, Double, Double, Double, Double, Double)] = [
        ("api", "/users", "GET", 0.0625, 0.03125, 8, 10, 0.25, 6, 8),
        ("api", "/users", "POST", 0.015625, 0.0078125, 4, 5, 0.125, 1.5, 3),
        ("api", "/orders", "GET", 0.25, 0.125, 2, 2.5, 0.5, 4, 10),
        ("web", "/", "GET", 0, 0.5, 16, 20, 0.0625, 0.5, 1),
    ]

    /// Services: (service, window, error ratio, request rate).
    static let services: [(String, String, Double, Double)] = [
        ("api", "5m", 0.03125, 14), ("api", "1h", 0.015625, 17.5),
        ("web", "5m", 0.0625, 16), ("web", "1h", 0.0078125, 20),
    ]

    static var samples: [Sample] {
        var samples: [Sample] = []
        func add(_ name: String, _ labels: [String: String], _ value: Double) {
            samples.append(Sample(labels: Labels(labels.merging(["__name__": name]) { $1 }), value: value))
        }
        for (service, route, method, ratio5m, ratio1h, rate5m, rate1h, p50, p95, p99) in routes {
            let base = ["service": service, "route": route, "method": method]
            for (window, ratio, rate) in [("5m", ratio5m, rate5m), ("1h", ratio1h, rate1h)] {
                add("opsight_request_error_ratio", base.merging(["window": window]) { $1 }, ratio)
                add("opsight_request_rate", base.merging(["window": window]) { $1 }, rate)
            }
            for (quantile, value) in [("0.5", p50), ("0.95", p95), ("0.99", p99)] {
                add(
                    "opsight_request_latency_seconds", base.merging(["window": "5m", "quantile": quantile]) { $1 },
                    value)
            }
        }
        for (service, window, ratio, rate) in services {
            add("opsight_service_error_ratio", ["service": service, "window": window], ratio)
            add("opsight_service_request_rate", ["service": service, "window": window], rate)
        }
        return samples
    }

    /// Evaluates `query` on the fixture, rendering a vector as `{labels} value` lines (sorted) and
    /// a scalar as `scalar value`.
    static func evaluate(_ query: String, source: any SampleSource = source) async throws -> [String] {
        switch try await Evaluator(source: source).evaluate(query, at: time) {
        case .scalar(let value): ["scalar \(FloatFormat.prometheus(value))"]
        case .vector(let samples): samples.map { "\($0.labels) \(FloatFormat.prometheus($0.value))" }
        }
    }

    /// The evaluation error of `query`, as `line:column: message`.
    static func evaluationError(_ query: String) async -> String? {
        do {
            _ = try await evaluate(query)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
