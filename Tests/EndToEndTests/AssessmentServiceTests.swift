import AsyncHTTPClient
import Foundation
import OpsightTestSupport
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The reference AssessmentService shipping to a real `opsight serve`, driven by `assessment-sim`: what Opsight
/// reports must equal what the simulator saw (requests) and what the service counted (jobs).
@Suite(.enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct AssessmentServiceTests {
    @Test func opsightFiguresMatchTheSimulatorsTallyAndTheServicesJobCounts() async throws {
        let server = try OpsightServer(label: "assess")
        server.extraConfig = FunnelsEndToEndTests.config
        try await server.start()
        let schema = "e2e_assess_\(E2EEnvironment.randomID())"
        let port = try OpsightServer.freePort()
        let service = try ChildProcess(
            binary: Self.binary("AssessmentService"),
            arguments: [
                "--listen", "127.0.0.1:\(port)", "--database-url", E2EEnvironment.databaseURL!, "--schema", schema,
                "--opsight-url", server.baseURL, "--opsight-token", server.opsToken, "--ai-latency-ms", "150",
                "--ai-failure-rate", "0.25", "--backoff-ms", "100", "--workers", "4", "--log-level", "warning",
            ],
            in: server.directory, name: "assessment")
        defer { service.kill() }
        let base = "http://127.0.0.1:\(port)"
        try await eventually("AssessmentService answers /healthz", timeout: .seconds(30)) {
            let status = try await Self.get(base + "/healthz").status
            return (status == 200, "healthz \(status); \(service.outputTail())")
        }

        let sim = try ChildProcess(
            binary: Self.binary("assessment-sim"),
            arguments: ["--url", base, "--rate", "4", "--duration", "20", "--poll-interval", "0.2", "--seed", "42"],
            in: server.directory, name: "sim")
        try #require(await sim.wait(within: .seconds(120)) == 0, "assessment-sim failed: \(sim.outputTail())")
        let tally = try JSONDecoder().decode(SimTally.self, from: Data(sim.stdout().utf8))
        #expect(tally.transportErrors.isEmpty, "requests without an answer cannot be compared exactly")
        #expect(tally.journeys["completed", default: 0] > 0, "no journey completed: \(tally.journeys)")

        // Abandoned journeys leave jobs behind; wait until the queue is drained before reading the counts.
        var stats: ServiceStats?
        try await eventually("the assessment queue drains", timeout: .seconds(60)) {
            let s = try JSONDecoder().decode(ServiceStats.self, from: try await Self.get(base + "/admin/stats").body)
            stats = s
            let busy = s.assessmentsByState["queued", default: 0] + s.assessmentsByState["running", default: 0]
            return (busy == 0, "by state: \(s.assessmentsByState)")
        }
        let jobs = try #require(stats).jobs
        let succeededUsers = try #require(stats).usersByState["succeeded", default: 0]
        // SIGTERM: the service stops taking requests and its emitter delivers what it holds.
        #expect(await service.terminate() == 0, "AssessmentService did not exit cleanly: \(service.outputTail())")

        let expected = Dictionary(uniqueKeysWithValues: tally.routes.map { ("\($0.method) \($0.route)", $0) })
        try await eventually("Opsight's route counts equal the simulator's tally", timeout: .seconds(30)) {
            let answer: RoutesAnswer = try await server.client.get(
                "/api/v1/services/assessment/routes", query: [("window", "5m")])
            let seen = Dictionary(
                answer.routes.filter { !$0.route.hasPrefix("/admin") && $0.route != "/healthz" }
                    .map { ("\($0.method) \($0.route)", ($0.requests, $0.errors)) },
                uniquingKeysWith: { a, _ in a })
            let want = expected.mapValues { ($0.requests, $0.errors) }
            let same =
                seen.count == want.count && want.allSatisfy { key, value in seen[key].map { $0 == value } ?? false }
            return (same, "opsight \(seen) vs simulator \(want)")
        }
        try await eventually("Opsight's job counts equal the service's", timeout: .seconds(30)) {
            let answer: ServicesAnswer = try await server.client.get("/api/v1/services", query: [("window", "5m")])
            let seen = answer["assessment"]?.jobs
            return (
                seen?.succeeded == jobs.succeeded && seen?.failed == jobs.failed,
                "opsight succeeded \(seen?.succeeded ?? -1) failed \(seen?.failed ?? -1) vs service \(jobs)"
            )
        }
        #expect(jobs.succeeded > 0 && jobs.failed > 0, "the run should see both outcomes: \(jobs)")
        // The assessment journey: distinct users per step, as the simulator saw the service confirm them, and
        // for "completed" (a job event carrying the user) the users with a succeeded assessment in the service.
        let users = tally.funnelUsers
        try await eventually("Opsight's funnel equals the simulator's distinct users per step", timeout: .seconds(30)) {
            let f: FunnelsEndToEndTests.FunnelAnswer = try await server.client.get(
                "/api/v1/funnels/assessment_journey", query: [("window", "5m")])
            let reached = f.steps.map(\.reached)
            let same =
                f.entered == users["document_uploaded"] && reached.count == 4
                && reached[1] == users["assessment_requested"] && reached[2] == succeededUsers
                && reached[3] == users["report_viewed"]
            return (
                same,
                "opsight entered \(f.entered) reached \(reached) vs simulator \(users), succeeded users \(succeededUsers)"
            )
        }
        #expect(users["report_viewed", default: 0] > 0, "some users converted: \(users)")
        await server.stop()
        // A failing run keeps both schemas and the logs for inspection.
        await StoreCleanup.remove(schema: schema, keyPrefix: "\(schema)_unused")
        await server.removeData()
    }

    /// `NAME` beside the `opsight` binary (the same build).
    static func binary(_ name: String) -> String {
        URL(fileURLWithPath: E2EEnvironment.binaryPath).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// A GET without credentials.
    static func get(_ url: String) async throws -> (status: Int, body: Data) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(body.readableBytesView))
    }
}

/// The part of `assessment-sim`'s output the test reads.
struct SimTally: Decodable {
    struct Route: Decodable {
        var route: String
        var method: String
        var requests: Int
        var errors: Int
    }
    var routes: [Route]
    var journeys: [String: Int]
    var transportErrors: [String: Int]
    /// Distinct users per funnel step.
    var funnelUsers: [String: Int]

    enum CodingKeys: String, CodingKey {
        case routes, journeys
        case transportErrors = "transport_errors"
        case funnelUsers = "funnel_users"
    }
}

/// `GET /admin/stats` of the AssessmentService.
struct ServiceStats: Decodable {
    struct Jobs: Decodable, CustomStringConvertible {
        var enqueued: Int
        var started: Int
        var succeeded: Int
        var failed: Int
        var retried: Int
        var description: String { "succeeded \(succeeded) failed \(failed) (started \(started), retried \(retried))" }
    }
    var jobs: Jobs
    var assessmentsByState: [String: Int]
    /// Distinct users with an assessment in each state.
    var usersByState: [String: Int]

    enum CodingKeys: String, CodingKey {
        case jobs
        case assessmentsByState = "assessments_by_state"
        case usersByState = "users_by_state"
    }
}

/// A child process with its output in files under a directory; killed when the test ends.
final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let outPath: String
    private let errPath: String

    init(binary: String, arguments: [String], in directory: URL, name: String) throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw E2EError("no binary at \(binary): run `swift build`")
        }
        outPath = directory.appendingPathComponent("\(name).out").path
        errPath = directory.appendingPathComponent("\(name).err").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for variable in ["OPSIGHT_URL", "OPSIGHT_TOKEN", "ASSESSMENT_LISTEN", "ASSESSMENT_SCHEMA"] {
            env[variable] = nil
        }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for the exit; `nil` (after a SIGKILL) when it takes longer than `limit`.
    func wait(within limit: Duration) async -> Int32? {
        if let status = await ChildExit.wait(process, within: limit) { return status }
        kill()
        return nil
    }

    /// SIGTERM, then waits up to 15 s for the exit status.
    func terminate() async -> Int32? {
        if let status = ChildExit.status(process) { return status }
        process.terminate()
        return await wait(within: .seconds(15))
    }

    /// SIGKILL if still running.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// What it wrote to stdout.
    func stdout() -> String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }

    /// The end of its stderr and stdout, for failure messages.
    func outputTail() -> String {
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return "stderr: \(err.suffix(3000))\nstdout: \(stdout().suffix(2000))"
    }
}
