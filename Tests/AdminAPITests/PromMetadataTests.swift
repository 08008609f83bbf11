import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PromQL
import Synchronization
import Testing

/// `/api/v1/labels` and `/api/v1/label/NAME/values`, which Grafana's metric browser asks with no `match[]`: collected
/// one window at a time, so the per-evaluation series cap bounds a window's series, not every window's together.
@Suite struct PromMetadataTests {
    static func data(_ client: any TestClientProtocol, _ uri: String) async throws -> (HTTPResponse.Status, [String]) {
        let r = try await client.execute(uri: uri, method: .get, headers: TestAPI.read)
        return (r.status, json(r.body)["data"] as? [String] ?? [])
    }

    static let paths = [
        "/api/v1/labels", "/api/v1/label/__name__/values", "/api/v1/label/window/values",
        "/api/v1/label/funnel/values", "/api/v1/label/quantile/values",
        "/api/v1/label/window/values?match%5B%5D=opsight_funnel_entered",
        "/api/v1/labels?match%5B%5D=opsight_funnel_entered&match%5B%5D=opsight_build_info",
        "/api/v1/label/__name__/values?match%5B%5D=%7Bwindow%3D%221h%22%7D",
    ]

    /// The answers with a cap a single window stays under but all windows together pass are the answers without a
    /// cap (here: the funnel families of six windows and the self-metrics).
    @Test func namesAndValuesUnderACapEqualThoseWithout() async throws {
        let box = Mutex<(answers: [String: [String]], total: Int, widest: Int)>(([:], 0, 0))
        @Sendable func seriesCount(_ client: any TestClientProtocol, window: String?) async throws -> Int {
            let selector = "{__name__=~\"opsight_.+\"" + (window.map { ",window=\"\($0)\"" } ?? "") + "}"
            let r = try await client.execute(
                uri: "/api/v1/series?match%5B%5D=" + selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
                method: .get, headers: TestAPI.read)
            return (json(r.body)["data"] as? [Any])?.count ?? -1
        }
        // The cap is what is under test, not the 30 s deadline: a debug build under a loaded full run took a request
        // of this test past it (503) once.
        try await TestAPI().run(limits: .init(maxSeries: 1_000_000, timeout: .seconds(600))) { client in
            var found: [String: [String]] = [:]
            for path in Self.paths {
                let (status, values) = try await Self.data(client, path)
                #expect(status == .ok, "\(path) without a cap")
                found[path] = values
            }
            let total = try await seriesCount(client, window: nil)
            var widest = 0
            for w in ["1m", "5m", "15m", "1h", "6h", "1d", ""] { widest = max(widest, try await seriesCount(client, window: w)) }
            box.withLock { $0 = (found, total, widest) }
        }
        let (expected, total, widest) = box.withLock { $0 }
        #expect(expected["/api/v1/label/window/values"] == ["15m", "1d", "1h", "1m", "5m", "6h"])
        #expect(expected["/api/v1/label/__name__/values"]?.contains("opsight_build_info") == true)
        #expect(expected["/api/v1/label/__name__/values"]?.contains("opsight_funnel_entered") == true)
        #expect(expected["/api/v1/labels"]?.contains("funnel") == true)
        #expect(widest > 0 && total > widest, "every window together (\(total)) is more than one (\(widest))")
        try await TestAPI().run(limits: .init(maxSeries: widest, timeout: .seconds(600))) { client in
            // The cap bites: one selection of every window at once is refused.
            #expect(try await seriesCount(client, window: nil) == -1)
            for path in Self.paths {
                let (status, values) = try await Self.data(client, path)
                #expect(status == .ok, "\(path) under a cap of \(widest) series")
                #expect(values == expected[path], "\(path)")
            }
        }
    }

    /// `start` and `end` are checked as Prometheus checks them.
    @Test func badStartAndEndAreNamed() async throws {
        try await TestAPI().run { client in
            for (query, parameter) in [("start=abc", "start"), ("end=1e300", "end"), ("start=100&end=50", "end")] {
                let r = try await client.execute(uri: "/api/v1/labels?" + query, method: .get, headers: TestAPI.read)
                #expect(r.status == .badRequest, "\(query)")
                #expect(json(r.body)["errorType"] as? String == "bad_data", "\(query)")
                #expect((json(r.body)["error"] as? String)?.contains(parameter) == true, "\(query): \(json(r.body))")
            }
        }
    }

    /// `window=""` selects the series without a window (an absent label is the empty value), as in Prometheus.
    @Test func anEmptyWindowSelectsTheSeriesWithoutOne() async throws {
        try await TestAPI().run { client in
            let query = #"{__name__=~"opsight_build_info|opsight_funnel_entered",window=""}"#
            let r = try await client.execute(
                uri: "/api/v1/query?query=" + query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
                method: .get, headers: TestAPI.read)
            let result = (json(r.body)["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
            let names = result.compactMap { ($0["metric"] as? [String: String])?["__name__"] }
            #expect(names == ["opsight_build_info"], "\(json(r.body))")
        }
    }
}
