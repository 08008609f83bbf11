import AsyncHTTPClient
import Foundation
import NIOCore
import OpsightTestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `promtool query instant|range` prints, parsed.
enum PromtoolOutput {
    struct Sample: CustomStringConvertible {
        /// The metric name, nil when the expression dropped it.
        var name: String?
        var labels: [String: String]
        var value: Double
        var time: Double
        var description: String { "\(name ?? "")\(labels.sorted { $0.key < $1.key }) => \(value) @\(time)" }
    }

    struct Series {
        var name: String?
        var labels: [String: String]
        var points: [(time: Double, value: Double)]
    }

    /// `name{a="b", c="d"} => 12.5 @[1700000000.123]` lines; also `scalar: 3 @[…]` (no labels, name "scalar").
    static func instant(_ text: String) throws -> [Sample] {
        try text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }.map { line in
            if line.hasPrefix("scalar: ") {
                let (v, t) = try point(String(line.dropFirst("scalar: ".count)), line)
                return Sample(name: "scalar", labels: [:], value: v, time: t)
            }
            guard let arrow = line.range(of: " => ") else { throw E2EError("unexpected promtool line: \(line)") }
            let (name, labels) = metric(String(line[..<arrow.lowerBound]))
            let (v, t) = try point(String(line[arrow.upperBound...]), line)
            return Sample(name: name, labels: labels, value: v, time: t)
        }
    }

    /// `name{…} =>` followed by `12.5 @[1700000000]` lines, per series.
    static func range(_ text: String) throws -> [Series] {
        var out: [Series] = []
        for line in text.split(separator: "\n").map(String.init) where !line.isEmpty {
            if line.hasSuffix(" =>") {
                let (name, labels) = metric(String(line.dropLast(3)))
                out.append(Series(name: name, labels: labels, points: []))
            } else {
                guard !out.isEmpty else { throw E2EError("promtool point before any series: \(line)") }
                let (v, t) = try point(line, line)
                out[out.count - 1].points.append((time: t, value: v))
            }
        }
        return out
    }

    private static func point(_ text: String, _ line: String) throws -> (Double, Double) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: " ")
        guard parts.count == 2, let v = Double(parts[0]), parts[1].hasPrefix("@["), parts[1].hasSuffix("]"),
            let t = Double(parts[1].dropFirst(2).dropLast())
        else { throw E2EError("unexpected promtool value in line: \(line)") }
        return (v, t)
    }

    /// `name{a="b", c="d"}` → ("name", labels); `{a="b"}` → (nil, labels).
    static func metric(_ text: String) -> (String?, [String: String]) {
        guard let open = text.firstIndex(of: "{"), let close = text.lastIndex(of: "}") else {
            return (text.isEmpty ? nil : text, [:])
        }
        let name = String(text[..<open])
        let body = String(text[text.index(after: open)..<close])
        var labels: [String: String] = [:]
        let pattern = try! NSRegularExpression(pattern: #"(\w+)="((?:[^"\\]|\\.)*)""#)
        for m in pattern.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
            labels[String(body[Range(m.range(at: 1), in: body)!])] = String(body[Range(m.range(at: 2), in: body)!])
        }
        return (name.isEmpty ? nil : name, labels)
    }
}

/// Prometheus HTTP API answers; decoding enforces the shapes (a point's time is a JSON number, its value a
/// JSON string).
enum PromAPI {
    struct Envelope<D: Decodable>: Decodable {
        var status: String
        var data: D?
        var errorType: String?
        var error: String?
    }

    /// `[1700000000.123, "0.5"]`.
    struct Point: Decodable, Sendable {
        var time: Double
        var value: String
        var number: Double? { Double(value) }

        init(from decoder: any Decoder) throws {
            var c = try decoder.unkeyedContainer()
            time = try c.decode(Double.self)
            value = try c.decode(String.self)
            guard c.isAtEnd else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "a point has exactly two elements")
            }
        }
    }

    struct Vector: Decodable {
        struct Item: Decodable {
            var metric: [String: String]
            var value: Point
        }
        var resultType: String
        var result: [Item]
    }

    struct Matrix: Decodable {
        struct Item: Decodable {
            var metric: [String: String]
            var values: [Point]
        }
        var resultType: String
        var result: [Item]
    }

    /// GET `url` with optional headers, fully read.
    static func get(_ url: String, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(10)) async throws
        -> HTTPResult
    {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 16 << 20)
        return HTTPResult(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Data(buffer.readableBytesView))
    }

    /// Decodes a successful answer's `data`; throws with the body otherwise.
    static func data<D: Decodable>(_ r: HTTPResult, as type: D.Type = D.self, what: String) throws -> D {
        guard r.status == 200 else { throw E2EError("\(what) answered \(r.status): \(r.text.prefix(1000))") }
        let envelope = try r.decode(Envelope<D>.self)
        guard envelope.status == "success", let data = envelope.data else {
            throw E2EError("\(what) did not succeed: \(r.text.prefix(1000))")
        }
        return data
    }
}

/// One real `prometheus` server (Debian package) on loopback, scraping one target, with its TSDB, configuration
/// and log in a directory of the test's. Always ended by `stop()` (SIGTERM, SIGKILL after 5 s); `deinit`
/// SIGKILLs a leftover.
final class PrometheusProcess: @unchecked Sendable {
    /// `OPSIGHT_TEST_PROMETHEUS`, else the Debian package's binary.
    static var binaryPath: String {
        E2EEnvironment.variables["OPSIGHT_TEST_PROMETHEUS"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/bin/prometheus"
    }
    static var available: Bool { FileManager.default.isExecutableFile(atPath: binaryPath) }

    let directory: URL
    let port: Int
    private let lock = NSLock()
    private var process: Process?

    var configPath: String { directory.appendingPathComponent("prometheus.yml").path }
    var dataPath: String { directory.appendingPathComponent("tsdb").path }
    var logPath: String { directory.appendingPathComponent("prometheus.log").path }
    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The pid while running.
    var pid: Int32? { lock.withLock { process.map(\.processIdentifier) } }

    /// Creates `parent/prometheus-<id>` and picks a free port; starts nothing.
    init(in parent: URL) throws {
        directory = parent.appendingPathComponent("prometheus-\(E2EEnvironment.randomID(6))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try OpsightServer.freePort()
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    }

    deinit {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }

    /// Writes a configuration scraping `target` (`host:port`) at `/metrics` every `interval` with `token` as
    /// Bearer credentials (none when nil), starts the server and waits (bounded) until `/-/ready` answers 200.
    /// `honorLabels` keeps Opsight's own `job` label (jobs families) instead of renaming it `exported_job`. Each of
    /// `windowJobs` adds a job of that name scraping only window `window` (`params: {window: [...]}`).
    func start(
        scraping target: String, bearer token: String?, interval: String = "1s", honorLabels: Bool = false,
        windowJobs: [(job: String, window: String)] = [], timeout: Duration = .seconds(20)
    )
        async throws
    {
        let auth =
            (token.map { "\n    authorization: {type: Bearer, credentials: \"\($0)\"}" } ?? "")
            + (honorLabels ? "\n    honor_labels: true" : "")
        var jobs = [("opsight", "")]
        for (job, window) in windowJobs { jobs.append((job, "\n    params: {window: [\"\(window)\"]}")) }
        let config = """
            global:
              scrape_interval: \(interval)
              scrape_timeout: \(interval)
              evaluation_interval: 1m
            scrape_configs:

            """
            + jobs.map { job, params in
                """
                  - job_name: \(job)
                    metrics_path: /metrics\(auth)\(params)
                    static_configs:
                      - targets: ["\(target)"]

                """
            }.joined()
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binaryPath)
        p.arguments = [
            "--config.file=\(configPath)", "--storage.tsdb.path=\(dataPath)",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=info",
        ]
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? log.close()
        lock.withLock { process = p }

        let deadline = ContinuousClock.now + timeout
        var last = "no answer yet"
        while ContinuousClock.now < deadline {
            if let status = ChildExit.status(p) {
                throw E2EError("prometheus exited with status \(status) before it was ready\n\(logTail())")
            }
            do {
                let r = try await PromAPI.get(baseURL + "/-/ready", timeout: .seconds(2))
                if r.status == 200 { return }
                last = "/-/ready answered \(r.status)"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw E2EError("prometheus was not ready after \(timeout): \(last)\n\(logTail())")
    }

    /// `GET /api/v1/<path>?<query>` on this Prometheus.
    func api(_ path: String, _ query: [(String, String)]) async throws -> HTTPResult {
        try await PromAPI.get(baseURL + "/api/v1/" + path + OpsightClient.queryString(query))
    }

    /// SIGTERM, then SIGKILL if still running after 5 s.
    @discardableResult
    func stop() async -> OpsightServer.StopOutcome {
        let taken: Process? = lock.withLock {
            defer { process = nil }
            return process
        }
        guard let p = taken else { return .notRunning }
        if let status = ChildExit.status(p) { return .exited(status) }
        p.terminate()
        if let status = await ChildExit.wait(p, within: .seconds(5)) { return .exited(status) }
        kill(p.processIdentifier, SIGKILL)
        _ = await OpsightServer.waitForExit(p, within: .seconds(10))
        return .killed
    }

    /// The last `lines` lines Prometheus logged, for failure reports.
    func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)"
        let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
        return "--- last \(tail.count) lines of \(logPath) ---\n" + tail.joined(separator: "\n")
    }
}

extension OpsightServer {
    /// Opsight's own `GET /api/v1/query` (read token), which must answer an instant vector.
    func promQuery(_ expr: String, time: String? = nil) async throws -> PromAPI.Vector {
        var query = [("query", expr)]
        if let time { query.append(("time", time)) }
        let r = try await client.request(.get, "/api/v1/query" + OpsightClient.queryString(query), token: readToken)
        let vector = try PromAPI.data(r, as: PromAPI.Vector.self, what: "opsight /api/v1/query \(expr)")
        guard vector.resultType == "vector" else { throw E2EError("\(expr): resultType \(vector.resultType)") }
        return vector
    }

    /// Waits (bounded) until the 1 h request rate of every service of `corpus` shows all its requests and the
    /// request counters hold them all.
    func waitUntilVisible(_ corpus: PromCorpus, timeout: Duration = .seconds(20)) async throws {
        let want = corpus.byService.mapValues(\.count)
        try await eventually("the corpus is visible through /api/v1/query", timeout: timeout) {
            let rates = try await promQuery(#"sum by (service) (opsight_service_request_rate{window="1h"}) * 3600"#)
            let totals = try await promQuery("sum by (service) (opsight_requests_total)")
            let gotRates = Dictionary(
                rates.result.map { ($0.metric["service"] ?? "?", Int(($0.value.number ?? -1).rounded())) }
            ) { a, _ in a }
            let gotTotals = Dictionary(
                totals.result.map { ($0.metric["service"] ?? "?", Int(($0.value.number ?? -1).rounded())) }
            ) { a, _ in a }
            return (gotRates == want && gotTotals == want, "rates \(gotRates), totals \(gotTotals), want \(want)")
        }
    }
}

/// The Debian package's `promtool` (or `OPSIGHT_TEST_PROMTOOL`).
enum Promtool {
    static var path: String {
        E2EEnvironment.variables["OPSIGHT_TEST_PROMTOOL"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/bin/promtool"
    }
    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// `promtool <arguments>` (stdin from `stdinPath`, in `workingDirectory`, default this process's; output files
    /// in `directory`), bounded.
    static func run(
        _ arguments: [String], stdinPath: String? = nil, in directory: URL, workingDirectory: URL? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> CommandRunner.Result {
        try await CommandRunner.run(
            path, arguments, stdinPath: stdinPath, in: directory, workingDirectory: workingDirectory, timeout: timeout)
    }
}

/// `application/x-www-form-urlencoded` as browsers and Go's `url.Values.Encode` write it: spaces as `+`, every
/// other byte outside `A-Za-z0-9-._~` percent-encoded (names too, so `match[]` becomes `match%5B%5D`).
func formEncode(_ items: [(String, String)]) -> String {
    var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    allowed.insert(" ")
    func enc(_ s: String) -> String {
        (s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s).replacingOccurrences(of: " ", with: "+")
    }
    return items.map { "\(enc($0.0))=\(enc($0.1))" }.joined(separator: "&")
}
