import AdminAPI
import Alerting
import ArgumentParser
import AsyncHTTPClient
import Collector
import Foundation
import Hummingbird
import Logging
import PromQL
import PostgresNIO
import ServiceLifecycle
import Storage

/// `opsight serve`: collector, API and (later) alerting in one process.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the collector and the API.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Listen address host:port (overrides the file and OPSIGHT_LISTEN).")
    var listen: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        // hiredis writes with plain write(): a Redis that went away must not kill the process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var env = ProcessInfo.processInfo.environment
        if let listen { env["OPSIGHT_LISTEN"] = listen }
        let config: OpsightConfig
        do { config = try OpsightConfig.load(path: options.config, environment: env) } catch {
            throw CommandFailure(error.description)
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        var logger = Logger(label: "opsight")
        logger.logLevel = level
        for name in config.unsetVariables {
            logger.warning("configuration names an unset environment variable; it is empty", metadata: ["variable": "\(name)"])
        }
        let log = logger
        let startedAtMs = Int64(Date().timeIntervalSince1970 * 1000)
        let stores = try StoreConnections(config: config, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await stores.postgres.run() }
            defer { stores.redis.shutdown() }
            try await stores.waitUntilReachable(logger: logger)
            try await Migrations.migrate(client: stores.postgres, schema: config.databaseSchema, logger: logger)
            var rawConfiguration = RawEventBuffer.Configuration()
            rawConfiguration.capacity = config.rawEventsBuffer
            rawConfiguration.maxBytes = config.rawEventsBufferBytes
            rawConfiguration.sampleRate = config.rawEventsSampleRate
            let rawEvents = config.rawEventsEnabled ? RawEventBuffer(configuration: rawConfiguration) : nil
            let runtime = try await CollectorRuntime.open(
                wal: .init(directory: config.walDirectory), ingest: config.ingestConfiguration,
                hot: stores.hot, durable: stores.durable, rawEvents: rawEvents, logger: logger)
            let rawStore = PostgresRawEventStore(client: stores.postgres, schema: config.databaseSchema, logger: logger)
            // Data a store refuses for what it is (SPEC §4) is set aside beside the log, and the flush moves on.
            let quarantine = Quarantine(
                path: config.walDirectory + "/quarantine.ndjson", status: runtime.status, logger: logger)
            var backgroundServices: [any Service] = [
                RetentionSweeper(
                    retention: PostgresRetention(
                        client: stores.postgres, schema: config.databaseSchema, configuration: config.retention,
                        logger: logger),
                    every: .milliseconds(config.retentionEveryMs), logger: logger)
            ]
            if let rawEvents {
                var writer = RawEventWriter.Configuration()
                writer.retentionMs = config.rawEventsRetentionMs
                writer.maxRowsPerSecond = config.rawEventsMaxRate > 0 ? config.rawEventsMaxRate : nil
                backgroundServices.append(
                    RawEventWriter(
                        configuration: writer, buffer: rawEvents, store: rawStore,
                        now: { Int64(Date().timeIntervalSince1970 * 1000) }, quarantine: quarantine, logger: logger))
            }
            let flusher = Flusher(
                aggregator: runtime.aggregator, wal: runtime.wal, hot: stores.hot, durable: stores.durable,
                collectorID: runtime.collectorID, status: runtime.status, quarantine: quarantine, logger: logger)
            let cache = WindowCache(
                configuration: .init(windowsMs: config.windowsMs), feed: stores.hot, logger: logger,
                now: { Int64(Date().timeIntervalSince1970 * 1000) })
            let reader = MetricsReader(hot: stores.hot, durable: stores.durable, cache: cache)
            let funnels = FunnelReader(
                funnels: config.funnels, configuration: .init(hotRetentionMs: stores.hot.retentionMs ?? 4_500_000),
                hot: stores.hot, durable: stores.durable)
            let tokens = AccessTokens(config.tokens)
            let router = Router()
            router.add(middleware: RequestIDMiddleware())
            IngestController(pipeline: runtime.pipeline, tokens: tokens).register(on: router)
            OpsController(reader: reader, tokens: tokens)
                .register(on: router)
            MetricsController(
                configuration: .init(
                    windowsMs: config.windowsMs, isPublic: config.publicMetrics, version: OpsightVersion.current),
                reader: reader, hot: stores.hot, tokens: tokens,
                status: runtime.status, walBytes: { [pipeline = runtime.pipeline] in pipeline.walBacklogBytes },
                funnels: funnels
            ).register(on: router)
            FunnelsController(reader: funnels, tokens: tokens).register(on: router)
            let source = FamilySampleSource(
                configuration: .init(windowsMs: config.windowsMs, version: OpsightVersion.current),
                reader: reader, hot: stores.hot, status: runtime.status,
                walBytes: { [pipeline = runtime.pipeline] in pipeline.walBacklogBytes }, funnels: funnels,
                now: { Int64(Date().timeIntervalSince1970 * 1000) })
            PromAPIController(source: source, tokens: tokens, now: { Int64(Date().timeIntervalSince1970 * 1000) })
                .register(on: router)
            let alerting = try AlertingWiring(
                config: config, configPath: options.config, holder: runtime.collectorID,
                store: PostgresAlertStore(client: stores.postgres, schema: config.databaseSchema, logger: logger),
                source: source, status: runtime.status, logger: logger)
            defer { alerting.shutdown() }
            alerting.controller(tokens: tokens).register(on: router)
            EventsController(store: rawStore, buffer: rawEvents ?? RawEventBuffer(), tokens: tokens).register(on: router)
            StatusController(
                configuration: .init(
                    version: OpsightVersion.current, collectorID: runtime.collectorID, windowsMs: config.windowsMs,
                    startedAtMs: startedAtMs),
                status: runtime.status, pipeline: runtime.pipeline, tokens: tokens
            ).register(on: router)
            HealthController(hot: stores.hot, durable: stores.durable, pipeline: runtime.pipeline)
                .register(on: router)
            let app = Application(
                router: router,
                configuration: .init(address: .hostname(config.listenHost, port: config.listenPort), serverName: "opsight"),
                onServerRunning: { channel in
                    log.info("listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
                },
                logger: logger)
            let services = ServiceGroup(
                configuration: .init(
                    services: [.init(service: flusher), .init(service: cache)]
                        + (backgroundServices + alerting.services).map { .init(service: $0) } + [.init(service: app)],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await services.run()
            runtime.commitLog.shutdown()
            group.cancelAll()
        }
    }
}

/// The connections to Redis and PostgreSQL and the stores over them.
struct StoreConnections {
    let redis: RedisClient
    let postgres: PostgresClient
    let hot: RedisHotStore
    let durable: PostgresDurableStore

    init(config: OpsightConfig, logger: Logger) throws {
        let redisURL: RedisURL
        do { redisURL = try RedisURL(config.redisURL) } catch {
            throw CommandFailure("redis_url: \(error)")
        }
        let pgURL: PostgresURL
        do { pgURL = try PostgresURL(config.databaseURL) } catch {
            throw CommandFailure("database_url: \(error.message)")
        }
        redis = RedisClient(url: redisURL, connections: 2)
        postgres = PostgresClient(configuration: pgURL.clientConfiguration, backgroundLogger: logger)
        hot = RedisHotStore(client: redis, configuration: .init(keyPrefix: config.redisKeyPrefix))
        durable = PostgresDurableStore(
            client: postgres, configuration: .init(schema: config.databaseSchema), logger: logger)
    }

    /// Waits (up to a minute) for both stores, saying which one is missing.
    func waitUntilReachable(logger: Logger) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        var delay = Duration.milliseconds(100)
        while true {
            var failures: [String] = []
            do { try await hot.ping() } catch { failures.append("Redis: \(error)") }
            do { try await durable.ping() } catch { failures.append("PostgreSQL: \(error)") }
            if failures.isEmpty { return }
            if ContinuousClock.now > deadline {
                throw CommandFailure("stores unreachable after 60s: \(failures.joined(separator: "; "))")
            }
            logger.warning("waiting for stores", metadata: ["problems": "\(failures.joined(separator: "; "))"])
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }
}
