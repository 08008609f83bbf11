import PostgresURL
import ArgumentParser
import AssessmentCore
import Foundation
import Hummingbird
import Logging
import OpsightMetrics
import OpsightMetricsIntegrations
import PostgresNIO
import ServiceLifecycle

/// `AssessmentService`: the reference service (SPEC §9), instrumented only through OpsightMetrics.
@main
struct AssessmentServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "AssessmentService",
        abstract: "Documents and AI assessments run by PostgreSQL-queued jobs; emits to Opsight.",
        discussion: """
            Flags fall back to environment variables: ASSESSMENT_LISTEN, ASSESSMENT_DATABASE_URL (then
            OPSIGHT_DATABASE_URL), ASSESSMENT_SCHEMA, OPSIGHT_URL, OPSIGHT_TOKEN. Without an Opsight URL events
            are written to stdout as JSON lines for a sidecar shipper.
            """
    )

    @Option(help: "HOST:PORT to listen on (port 0 picks a free one).")
    var listen: String?
    @Option(help: "PostgreSQL URL, postgres://user@host:port/db.")
    var databaseURL: String?
    @Option(help: "Schema for the service's tables.")
    var schema: String?
    @Option(help: "Opsight base URL (events go to its /v1/ingest).")
    var opsightURL: String?
    @Option(help: "Bearer token with the ingest scope.")
    var opsightToken: String?
    @Option(help: "The service name in events.")
    var serviceName = "assessment"
    @Option(help: "Concurrent jobs run by the worker.")
    var workers = 4
    @Option(help: "Median AI call latency in milliseconds (log-normal scale).")
    var aiLatencyMs = 1500
    @Option(help: "Log-normal sigma of the AI call latency.")
    var aiSigma = 0.5
    @Option(help: "Initial share of AI calls that fail.")
    var aiFailureRate = 0.05
    @Option(help: "Attempts before an assessment fails for good.")
    var maxAttempts = 3
    @Option(help: "First retry delay in milliseconds (doubled per retry).")
    var backoffMs = 500
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let listen = self.listen ?? env["ASSESSMENT_LISTEN"] ?? "127.0.0.1:8080"
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen: expected HOST:PORT, got '\(listen)'")
        }
        let host = String(listen[..<colon])
        guard let databaseText = databaseURL ?? env["ASSESSMENT_DATABASE_URL"] ?? env["OPSIGHT_DATABASE_URL"] else {
            throw ValidationError("--database-url (or ASSESSMENT_DATABASE_URL) is required")
        }
        let database: PostgresURL
        do { database = try PostgresURL(databaseText) } catch { throw ValidationError("--database-url: \(error)") }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level: unknown '\(logLevel)'")
        }

        let transport: any Transport
        if let url = opsightURL ?? env["OPSIGHT_URL"], !url.isEmpty {
            let token = opsightToken ?? env["OPSIGHT_TOKEN"]
            // A short timeout bounds each attempt, and so how long shutdown may wait for an absent collector.
            transport = HTTPTransport(
                configuration: .init(url: url, token: token?.isEmpty == false ? token : nil, timeout: .seconds(5)))
        } else {
            transport = StdoutTransport()
        }
        let emitter = OpsightEmitter(service: serviceName, transport: transport)
        LoggingSystem.bootstrap { label in
            var stderr = StreamLogHandler.standardError(label: label)
            stderr.logLevel = level
            return MultiplexLogHandler([stderr, OpsightLogHandler(label: label, emitter: emitter, logLevel: level)])
        }
        let logger = Logger(label: "assessment")

        let postgres = PostgresClient(configuration: database.clientConfiguration, backgroundLogger: logger)
        let faults = FaultInjector(FaultSettings(aiFailureRate: aiFailureRate))
        let counters = JobCounters()
        let assessorConfiguration = SimulatedAssessor.Configuration(
            medianLatency: .milliseconds(aiLatencyMs), sigma: aiSigma)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await postgres.run() }
            let store = try AssessmentStore(
                client: postgres, schema: schema ?? env["ASSESSMENT_SCHEMA"] ?? "assessment", logger: logger)
            try await store.migrate()
            let worker = AssessmentWorker(
                configuration: .init(
                    concurrency: workers, maxAttempts: maxAttempts, baseBackoff: .milliseconds(backoffMs),
                    name: ProcessInfo.processInfo.hostName + "-\(ProcessInfo.processInfo.processIdentifier)"),
                store: store,
                assessor: SimulatedAssessor(configuration: assessorConfiguration, faults: faults),
                emitter: emitter, counters: counters, logger: logger)
            let api = AssessmentAPI(
                store: store, emitter: emitter, faults: faults, counters: counters,
                expectedLatency: assessorConfiguration.medianLatency)
            let app = Application(
                router: api.router(),
                configuration: .init(address: .hostname(host, port: port), serverName: "assessment"),
                onServerRunning: { channel in
                    // Tests and scripts read the bound address from this stderr line when given port 0
                    // (stdout may carry the events as JSON lines).
                    let line = "listening on \(channel.localAddress?.description ?? "?")\n"
                    FileHandle.standardError.write(Data(line.utf8))
                },
                logger: logger)
            let services = ServiceGroup(
                configuration: .init(
                    services: [
                        .init(service: EmitterService(emitter: emitter)), .init(service: worker), .init(service: app),
                    ],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await services.run()
            group.cancelAll()
        }
    }
}
