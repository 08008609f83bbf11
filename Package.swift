// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "opsight",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "opsight", targets: ["opsight"]),
        .library(name: "OpsightMetrics", targets: ["OpsightMetrics"]),
        .library(name: "OpsightMetricsIntegrations", targets: ["OpsightMetricsIntegrations"]),
        .executable(name: "AssessmentService", targets: ["AssessmentService"]),
        .executable(name: "assessment-sim", targets: ["assessment-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", exact: "1.3.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", exact: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        // Already in the graph through Hummingbird; named for NIOHTTPTypes (the connection cap's channel handler).
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
    ],
    targets: [
        // The shared module services link: schema, decoder, sketch, the emitter and the swift-log / swift-metrics
        // backends. No I/O libraries: delivery goes through a `Transport` (HTTP in OpsightMetricsIntegrations).
        .target(
            name: "OpsightMetrics",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Sources/Metrics"
        ),
        // What a service adds to ship through HTTP (async-http-client, gzip) and record Hummingbird requests.
        .target(
            name: "OpsightMetricsIntegrations",
            dependencies: [
                "OpsightMetrics",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/MetricsIntegrations"
        ),
        // Emit-call cost (SPEC §11: ≤ 500 ns median); run by `make bench`.
        .executableTarget(name: "emit-bench", dependencies: ["OpsightMetrics"], path: "Sources/EmitBench"),
        // PromQL evaluation CPU per query shape at 10 000 series, in process (Benchmarks/query_bench.sh measures
        // the same shapes over HTTP).
        .executableTarget(name: "promql-bench", dependencies: ["PromQL"], path: "Sources/PromQLBench"),
        // The ingest path's CPU per line, stage by stage, in process (Benchmarks/ingest_bench.sh).
        .executableTarget(name: "ingest-bench", dependencies: ["OpsightMetrics", "Collector"], path: "Sources/IngestBench"),
        // hiredis from Debian's libhiredis-dev; no Swift Redis client is available here.
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // zlib's crc32 for write-ahead-log records (hardware-speed, unlike a Swift table loop).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // glibc's `mallopt`/`malloc_trim` (malloc.h), for the collector's memory bound (docs/benchmarks.md).
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        // The write path: ingest pipeline, WAL, aggregation, flush to the store seams. No HTTP.
        .target(
            name: "Collector",
            dependencies: [
                "OpsightMetrics",
                "PromQL",
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The one `postgres://` URL parser, shared by the stores and the AssessmentService.
        .target(name: "PostgresURL", dependencies: [.product(name: "PostgresNIO", package: "postgres-nio")]),
        .target(
            name: "Storage",
            dependencies: [
                "PostgresURL",
                "Collector",
                "Alerting",
                "CHiredis",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // RE2 (Debian's libre2-dev) behind a small C shim: label regexes match in linear time, in Prometheus's syntax.
        .target(
            name: "CRE2",
            path: "Sources/CRE2",
            linkerSettings: [.linkedLibrary("re2")]
        ),
        // The PromQL subset shared by the query API and alert rules. Pure: no I/O dependencies.
        .target(name: "PromQL", dependencies: ["CRE2", "OpsightMetrics"], path: "Sources/PromQL"),
        // Rule files, evaluation, alert state, routing, grouping, silences, payloads, the outbox and its delivery.
        .target(
            name: "Alerting",
            dependencies: [
                "PromQL",
                "OpsightMetrics",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The read side between the stores and every reader: window reads, the window cache, funnel figures, the
        // SPEC §6 families and the one `SampleSource` that /metrics, the PromQL API, the ops API and rules use.
        .target(
            name: "QueryModel",
            dependencies: [
                "Collector",
                "PromQL",
                "OpsightMetrics",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The HTTP toolkit every controller uses: scoped route groups (no endpoint without a scope), the one error
        // mapping to SPEC's shapes, the one parameter parser, request ids.
        .target(
            name: "HTTPLayer",
            dependencies: [
                "Collector",
                "PromQL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AdminAPI",
            dependencies: [
                "Collector",
                "QueryModel",
                "HTTPLayer",
                "PromQL",
                "Alerting",
                "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            // The console's static pages (SPEC §12), served by ConsoleController through Bundle.module.
            resources: [.copy("Console")]
        ),
        .executableTarget(
            name: "opsight",
            dependencies: [
                "OpsightMetrics", "Collector", "QueryModel", "HTTPLayer", "Storage", "AdminAPI", "PromQL", "Alerting",
                "PostgresURL", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The reference service (SPEC §9): documents, assessments run by PostgreSQL-queued worker jobs with a
        // simulated AI call, instrumented only through OpsightMetrics.
        .target(
            name: "AssessmentCore",
            dependencies: [
                "PostgresURL",
                "OpsightMetrics",
                "OpsightMetricsIntegrations",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "AssessmentService",
            dependencies: [
                "AssessmentCore", "OpsightMetrics", "OpsightMetricsIntegrations", "PostgresURL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // User journeys against the AssessmentService; prints its own tally as JSON.
        .executableTarget(
            name: "assessment-sim",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/AssessmentSim"
        ),
        .testTarget(
            name: "AssessmentIntegrationTests",
            dependencies: [
                "AssessmentCore", "OpsightMetrics", "PostgresURL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "OpsightMetricsTests",
            dependencies: [
                "OpsightMetrics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "OpsightMetricsIntegrationsTests",
            dependencies: [
                "OpsightMetricsIntegrations",
                "OpsightMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "PromQLTests", dependencies: ["PromQL", "OpsightMetrics"]),
        .testTarget(name: "AlertingTests", dependencies: ["Alerting", "PromQL", "OpsightMetrics"]),
        // Event generators, temporary folders and loopback sockets the test targets share.
        .target(name: "OpsightTestSupport", dependencies: ["Collector", "OpsightMetrics"], path: "Tests/Support"),
        .testTarget(name: "CollectorTests", dependencies: ["Collector", "QueryModel", "PromQL", "OpsightTestSupport"]),
        // Router-level tests (`app.test(.router)`) of every controller.
        .testTarget(
            name: "AdminAPITests",
            dependencies: [
                "AdminAPI", "HTTPLayer", "QueryModel", "Collector", "PromQL", "Alerting", "OpsightMetrics",
                "OpsightTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Storage", "Collector", "QueryModel", "OpsightMetrics", "Alerting", "PromQL", "PostgresURL",
                "OpsightTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "OpsightMetrics", "OpsightTestSupport",
                // The Redis client, for the cluster tests that check routing against a real Redis Cluster; the hot
                // store's types and the window cache, for the sharded change feed's test there.
                "Storage", "Collector", "QueryModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
