import AdminAPI
import Alerting
import ArgumentParser
import AsyncHTTPClient
import Collector
import Foundation
import HTTPLayer
import Hummingbird
import Logging
import OpsightMetrics
import PostgresNIO
import PostgresURL
import PromQL
import QueryModel
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
        let tuned = MemoryTuning.apply()
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
        if !tuned {
            logger.warning(
                "glibc refused an allocator setting (mmap threshold or arena count); running with its default for it")
        }
        for name in config.unsetVariables {
            logger.warning(
                "configuration names an unset environment variable; it is empty", metadata: ["variable": "\(name)"])
        }
        let log = logger
        let startedAtMs = WallClock.system.nowMs()
        let stores = try StoreConnections(config: config, logger: logger)
        // A shutdown still running after the inner group's grace, the store clients' closing and a margin ends the
        // process (``ShutdownDeadline``).
        let deadline = ShutdownDeadline(limit: Self.shutdownLimit, logger: logger) { Foundation.exit(1) }
        // In dependency order: on shutdown the HTTP server and alerting stop first, then the flusher drains, then
        // the commit log, and the store clients last.
        let services = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: stores.postgres), .init(service: stores.redis), .init(service: stores.readRedis),
                    .init(service: MemoryTrimmer()),
                    .init(
                        service: OpsightService(
                            config: config, configPath: options.config, stores: stores, startedAtMs: startedAtMs,
                            logger: log)),
                    .init(service: deadline),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { deadline.disarm() }
        try await services.run()
    }

    /// How long after `SIGTERM` the process ends whatever is still stopping: past ``OpsightService/shutdownGrace``
    /// and the store clients' closing, below an orchestrator's usual 30 s.
    static let shutdownLimit: Duration = .seconds(10)
}

/// Everything that needs the stores ready: it waits for them, migrates, replays the WAL, then runs the collector,
/// the readers, alerting and the HTTP server as one group that stops in reverse order.
struct OpsightService: Service {
    let config: OpsightConfig
    let configPath: String?
    let stores: StoreConnections
    let startedAtMs: Int64
    let logger: Logger

    func run() async throws {
        let log = logger
        do {
            try await cancelWhenGracefulShutdown {
                try await stores.waitUntilReachable(logger: logger)
            }
        } catch is CancellationError {
            // SIGTERM or SIGINT before the stores answered: nothing was started, so stopping is a clean exit.
            log.notice("stopped while waiting for the stores")
            return
        }
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
            path: config.walDirectory + "/quarantine.ndjson", status: runtime.status, logger: logger,
            retention: config.quarantineRetention)
        var backgroundServices: [any Service] = [
            RetentionSweeper(
                retention: PostgresRetention(
                    client: stores.postgres, schema: config.databaseSchema,
                    configuration: config.retentionConfiguration,
                    logger: logger),
                quarantine: quarantine, every: .milliseconds(config.retentionEveryMs), logger: logger)
        ]
        if let rawEvents {
            var writer = RawEventWriter.Configuration()
            writer.retentionMs = config.rawEventsRetentionMs
            writer.maxRowsPerSecond = config.rawEventsMaxRate > 0 ? config.rawEventsMaxRate : nil
            backgroundServices.append(
                RawEventWriter(
                    configuration: writer, buffer: rawEvents, store: rawStore,
                    now: { WallClock.system.nowMs() }, quarantine: quarantine,
                    behind: { [pipeline = runtime.pipeline, aggregator = runtime.aggregator] in
                        aggregator.hasBacklog(.hot) || pipeline.hotBacklogBytes > Self.rawEventsGiveWayBytes
                    },
                    logger: logger))
        }
        // A Redis that lost its data (restarted empty, failed over to a replica lacking writes) is noticed by the
        // flush's guarded commits and the readers' epoch checks, and rebuilt (docs/hot-store-loss.md); on a Redis
        // Cluster, slot by slot (a shard that failed over), with per-slot epoch copies and markers.
        let recovery: HotStoreRecovery? = HotStoreRecovery(
            configuration: .init(
                hotRetentionMs: stores.hot.retentionMs ?? 4_500_000, jobFactRetentionMs: config.jobFactRetentionMs),
            hot: stores.hot, durable: stores.durable, aggregator: runtime.aggregator, status: runtime.status,
            collectorID: runtime.collectorID, epoch: runtime.hotEpoch, signal: stores.epochSignal, logger: logger)
        let flusher = Flusher(
            configuration: .init(durableYieldBytes: config.walMaxBytes / 4),
            aggregator: runtime.aggregator, wal: runtime.wal, hot: stores.hot, durable: stores.durable,
            collectorID: runtime.collectorID, status: runtime.status, quarantine: quarantine, recovery: recovery,
            identities: runtime.pipeline.identities, logger: logger)
        // Reads have their own Redis connections: no query waits behind a flush, nor a flush behind a query.
        let clock = WallClock.system
        var hotWindows = WindowCache.Configuration(windowsMs: config.windowsMs)
        hotWindows.keepsTail = true
        hotWindows.keepsTotals = true
        hotWindows.bucketTracking = .recent
        hotWindows.wake = stores.readHot.ownChanges?.wake
        let cache = WindowCache(
            configuration: hotWindows, feed: stores.readHot, logger: logger, now: { clock.nowMs() })
        // Windows over an hour: PostgreSQL's minutes through two minutes back, followed through its change log, plus
        // the hot cache's tail. Not those that reach days a retention sweep downsamples or drops (that rewrites
        // minutes under the cache; they are read from the store instead).
        let rewrittenAfter = [config.retention.rollupsDownsampleAfterMs, config.retention.rollupsMs].compactMap { $0 }
            .min()
        var longWindows = WindowCache.Configuration.durable(
            windowsMs: config.windowsMs.filter { w in rewrittenAfter.map { w + 86_400_000 <= $0 } ?? true })
        longWindows.bucketTracking = .windows
        longWindows.wake = stores.durable.ownRollupsWake
        let longCache = WindowCache(
            configuration: longWindows, feed: stores.durable, logger: logger, now: { clock.nowMs() })
        stores.durable.ownRollupsFollowed = !longCache.windowsMs.isEmpty
        let reader = MetricsReader(
            hot: stores.readHot, durable: stores.durable, cache: cache, longCache: longCache, clock: clock)
        let storeFunnels = FunnelReader(
            funnels: config.funnels,
            configuration: .init(hotRetentionMs: stores.readHot.retentionMs ?? 4_500_000),
            hot: stores.readHot, durable: stores.durable, clock: clock)
        // The funnels' records over the longest window stay in memory, following the hot store's funnel step log:
        // a scrape over `1d` no longer reads a day of records per funnel.
        let funnelCache: FunnelCache? =
            config.funnels.isEmpty
            ? nil
            : FunnelCache(
                configuration: .init(horizonMs: config.windowsMs.max() ?? 86_400_000), reader: storeFunnels,
                feed: stores.readHot, logger: logger, now: { clock.nowMs() })
        let funnels = funnelCache.map { storeFunnels.cached(by: $0) } ?? storeFunnels
        let selfMetrics = SelfMetrics()
        selfMetrics.registerCollector(
            status: runtime.status, walBytes: { [pipeline = runtime.pipeline] in pipeline.walBacklogBytes },
            pendingBytes: { [aggregator = runtime.aggregator] in aggregator.bytes($0) }, version: OpsightVersion.current
        )
        let families = MetricFamilies(
            configuration: .init(windowsMs: config.windowsMs), reader: reader, totals: stores.readHot,
            funnels: funnels, selfMetrics: selfMetrics, clock: clock)
        let limits = config.queryLimits
        let router = Router()
        router.add(middleware: RequestIDMiddleware())
        let routes = ScopedRoutes(router: router, tokens: AccessTokens(config.tokens), logger: logger)
        IngestController(pipeline: runtime.pipeline).register(on: routes)
        OpsController(reader: reader, clock: clock, limits: limits).register(on: routes)
        MetricsController(families: families, isPublic: config.publicMetrics).register(on: routes)
        FunnelsController(reader: funnels, clock: clock).register(on: routes)
        PromAPIController(source: families, clock: clock, limits: limits).register(on: routes)
        let alerting = try AlertingWiring(
            config: config, configPath: configPath, holder: runtime.collectorID,
            store: PostgresAlertStore(client: stores.postgres, schema: config.databaseSchema, logger: logger),
            source: families, selfMetrics: selfMetrics, logger: logger)
        defer { alerting.shutdown() }
        alerting.controller().register(on: routes)
        EventsController(store: rawStore, buffer: rawEvents ?? RawEventBuffer(), clock: clock).register(on: routes)
        StatusController(
            configuration: .init(
                version: OpsightVersion.current, collectorID: runtime.collectorID, windowsMs: config.windowsMs,
                startedAtMs: startedAtMs),
            status: runtime.status, pipeline: runtime.pipeline, clock: clock
        ).register(on: routes)
        ConsoleController(configuration: .init(assetsDirectory: config.consoleAssetsDir)).register(on: routes)
        DashboardsController(directory: config.dashboardsDirectory).register(on: routes)
        HealthController(hot: stores.readHot, durable: stores.durable, pipeline: runtime.pipeline)
            .register(on: routes)
        // A connection that sends nothing is closed after `http.idle_timeout`, and at most `http.max_connections` are
        // served at once, so idle or flooding clients cannot pile up.
        let connections = ConnectionLimit(limit: config.httpMaxConnections)
        selfMetrics.register(
            "opsight_http_connections", type: "gauge", help: "HTTP connections open now."
        ) { Double(connections.openConnections) }
        selfMetrics.register(
            "opsight_http_connections_rejected_total", type: "counter",
            help: "HTTP connections answered 503 because http.max_connections were open."
        ) { Double(connections.rejectedConnections) }
        let app = Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [connections.handler(), MalformedRequestHandler()],
                    idleTimeout: .milliseconds(config.httpIdleTimeoutMs))),
            configuration: .init(address: .hostname(config.listenHost, port: config.listenPort), serverName: "opsight"),
            onServerRunning: { channel in
                log.info("listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: runtime.commitLog), .init(service: flusher), .init(service: cache),
                    .init(service: longCache),
                ]
                    + (funnelCache.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? [])
                    + (backgroundServices + alerting.services).map { .init(service: $0) } + [.init(service: app)],
                logger: logger))
        try await Self.run(group, abandoningAfter: Self.shutdownGrace, logger: logger)
    }

    /// How long a graceful shutdown waits for the services still busy with a store before it abandons them.
    ///
    /// What the stores have not taken is in the write-ahead log, and the next start replays it: nothing needs them
    /// on the way out. But a service can be waiting on one: a PostgreSQL statement in flight (PostgresNIO does not
    /// end one on task cancellation, so `cancelWhenGracefulShutdown` does not help there), a lease from a pool still
    /// reconnecting after an outage, a window cache poll (8 s), a flush's last commit or a catch-up chunk. The group
    /// stops its services one after the other, so such waits add up; an orchestrator (or the end-to-end tests) kills
    /// a process still running 5 s after SIGTERM.
    static let shutdownGrace: Duration = .milliseconds(1500)

    /// How far the hot store may trail the log before the raw-event writer gives way (``RawEventWriter``): above a
    /// flush's usual chunk, so mostly a burst's backlog (a shipment) makes it wait; full ingest reaches it now and
    /// then, which the writer's bounded stretches allow for. The writer also gives way while the hot lane holds more
    /// than the chunk it is filling or has records to read back (``Aggregator/hasBacklog(_:)``): a shipment of the
    /// last hour, a cell per event, is that within a tenth of a second, where its log (~60 bytes an event) took ~2 s
    /// to trail by these bytes, and the drill-down's inserts meanwhile took ~0.2 of the two cores (docs/benchmarks.md).
    static let rawEventsGiveWayBytes: UInt64 = 8 << 20

    /// Runs `group`; after a graceful shutdown, waits at most `grace` for it to end, then returns without it.
    ///
    /// The HTTP server stops first and waits for the requests under way, so by then every acknowledged ingest is in
    /// the log; what is left when the grace runs out is store work, which the log replays at the next start (as
    /// after a crash). The group then runs on, detached, until the process exits.
    static func run(_ group: ServiceGroup, abandoningAfter grace: Duration, logger: Logger) async throws {
        let (ended, end) = AsyncStream.makeStream(of: Result<Void, any Error>.self)
        let running = Task {
            let outcome: Result<Void, any Error>
            do {
                try await group.run()
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            end.yield(outcome)
            end.finish()
        }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                let outcome = await withTaskGroup(of: Result<Void, any Error>?.self) { race in
                    race.addTask { await ended.first { _ in true } }
                    race.addTask {
                        try? await gracefulShutdown()
                        try? await Task.sleep(for: grace)
                        return nil
                    }
                    defer { race.cancelAll() }
                    return await race.next() ?? nil
                }
                if let outcome { return try outcome.get() }
                logger.warning(
                    "services still waiting on a store at shutdown; leaving them (the write-ahead log keeps their work)",
                    metadata: ["grace": "\(grace)"])
            } onGracefulShutdown: {
                Task { await group.triggerGracefulShutdown() }
            }
        } onCancel: {
            running.cancel()
        }
    }
}

/// The connections to Redis and PostgreSQL and the stores over them.
struct StoreConnections {
    /// The flush's connections.
    let redis: RedisClient
    /// Every reader's connections, apart from the flush's.
    let readRedis: RedisClient
    let postgres: PostgresClient
    /// The hot store as the flush writes it.
    let hot: RedisHotStore
    /// The hot store as readers (the API, rules, the window cache) read it.
    let readHot: RedisHotStore
    let durable: PostgresDurableStore
    /// Where readers report a hot store without its epoch, for the flush's recovery to look at.
    let epochSignal = HotEpochSignal()

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
        readRedis = RedisClient(url: redisURL, connections: 2)
        postgres = PostgresClient(configuration: pgURL.clientConfiguration, backgroundLogger: logger)
        var hotConfiguration = RedisHotStore.Configuration(
            keyPrefix: config.redisKeyPrefix, jobFactRetentionSeconds: config.jobFactRetentionMs / 1000,
            signal: epochSignal)
        // The window cache reading `readHot` takes this collector's own commits from memory.
        hotConfiguration.ownChanges = OwnChanges()
        var writerConfiguration = hotConfiguration
        writerConfiguration.slotStatePath = config.walDirectory + "/hot-slots"
        hot = RedisHotStore(client: redis, configuration: writerConfiguration)
        readHot = RedisHotStore(client: readRedis, configuration: hotConfiguration)
        durable = PostgresDurableStore(
            client: postgres, configuration: .init(schema: config.databaseSchema), logger: logger)
    }

    /// Waits (up to a minute) for both stores, saying which one is missing.
    func waitUntilReachable(logger: Logger) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        let retry = RetryPolicy(maxAttempts: .max, initialBackoff: .milliseconds(100), maxBackoff: .seconds(2))
        var attempt = 0
        while true {
            attempt += 1
            var failures: [String] = []
            do { try await hot.ping() } catch { failures.append("Redis: \(error)") }
            do { try await durable.ping() } catch { failures.append("PostgreSQL: \(error)") }
            if failures.isEmpty { return }
            try Task.checkCancellation()
            if ContinuousClock.now > deadline {
                throw CommandFailure("stores unreachable after 60s: \(failures.joined(separator: "; "))")
            }
            logger.warning("waiting for stores", metadata: ["problems": "\(failures.joined(separator: "; "))"])
            try await Task.sleep(for: retry.delay(afterAttempt: attempt, retryAfter: nil, random: .random(in: 0..<1)))
        }
    }
}
