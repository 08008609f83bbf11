import Alerting
import Collector
import Foundation
import HTTPLayer
import OpsightMetrics
import PromQL
import Storage
import Yams

/// `opsight.yaml` (SPEC §10), after `${VAR}` substitution and environment overrides.
struct OpsightConfig {
    var listenHost = "127.0.0.1"
    var listenPort = 9400
    var redisURL = "redis://127.0.0.1:6379/0"
    var databaseURL = "postgres://opsight@127.0.0.1:5432/opsight"
    var databaseSchema = "opsight"
    var redisKeyPrefix = "opsight"
    var walDirectory = "./data/wal"
    var walMaxBytes: UInt64 = 1 << 30
    var tokens: [AccessTokens.Token] = []
    var publicMetrics = false
    var windowsMs: [Int64] = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000]
    var errorStatusAtLeast = 500
    var routesPerService = 500
    var identityLimits = IdentityGuard.Limits()
    var maxBodyBytes = 16 << 20
    var maxAgeMs: Int64 = 86_400_000
    var aliases: [String: String] = [:]
    /// The raw event drill-down (`raw_events:`).
    var rawEventsEnabled = true
    var rawEventsRetentionMs: Int64 = 7 * 86_400_000
    /// Most bytes the raw event buffer holds (`raw_events.buffer_bytes`).
    var rawEventsBufferBytes = RawEventBuffer.Configuration().maxBytes
    var rawEventsBuffer = RawEventBuffer.Configuration().capacity
    var rawEventsSampleRate = 0.01
    /// Most raw events written to PostgreSQL per second (`raw_events.max_rate`; 0: unlimited).
    var rawEventsMaxRate = 2_000
    /// Limits of one query (`query:`): series per evaluation, run time, points per range series (SPEC §7).
    var queryLimits = QueryLimits()
    /// Funnel definitions (`funnels:`), validated.
    var funnels: [FunnelDefinition] = []
    /// How long alert history, finished notifications and funnel records are kept (`retention:`).
    var retention = PostgresRetention.Configuration()
    /// How long and how much of the quarantine file is kept (`retention.quarantine`, `quarantine_bytes`).
    var quarantineRetention = Quarantine.Retention()
    /// How often the retention sweep runs (`retention.every`).
    var retentionEveryMs: Int64 = 3_600_000
    /// The `alerting:` block; nil when the file has none (no rules are evaluated).
    var alerting: AlertingSettings?
    /// The chart library's directory for the console (`console.assets_dir`; Debian `libjs-dygraphs`).
    var consoleAssetsDir = "/usr/share/javascript/dygraphs"
    /// How long an HTTP connection may sit idle before the server closes it (`http.idle_timeout`).
    var httpIdleTimeoutMs: Int64 = 60_000
    /// Most HTTP connections served at once (`http.max_connections`); more are answered 503 and closed.
    var httpMaxConnections = 1_000
    /// The dashboards the console renders (`console.dashboards_dir`); nil: `dashboards` next to the configuration
    /// file when that folder exists, else `./dashboards` (see `dashboardsDirectory`).
    var consoleDashboardsDir: String?
    /// The configuration file's path, for defaults relative to it.
    var configPath: String?
    /// Environment variables the file named but the environment does not set.
    var unsetVariables: [String] = []

    /// The folder of the console's dashboards: `console.dashboards_dir` (relative to the working directory), else
    /// `dashboards` next to the configuration file if it exists, else `./dashboards`.
    var dashboardsDirectory: String {
        if let consoleDashboardsDir { return consoleDashboardsDir }
        if let configPath {
            let beside = URL(fileURLWithPath: configPath).deletingLastPathComponent()
                .appendingPathComponent("dashboards")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: beside.path, isDirectory: &isDirectory), isDirectory.boolValue {
                return beside.path
            }
        }
        return "dashboards"
    }

    /// Loads `path` (nil: defaults only), then applies `OPSIGHT_*` environment overrides.
    static func load(path: String?, environment: [String: String]) throws(ConfigError) -> OpsightConfig {
        var config = OpsightConfig()
        config.configPath = path
        if let path {
            let text: String
            switch TextFile.read(path) {
            case .success(let read): text = read
            case .failure(let why): throw ConfigError(file: path, message: "cannot read the configuration file: it \(why)")
            }
            let parsed: Node?
            do { parsed = try Yams.compose(yaml: text) } catch let error as YamlError {
                throw ConfigError(file: path, message: "invalid YAML: \(error)")
            } catch {
                throw ConfigError(file: path, message: "invalid YAML: \(error)")
            }
            var unset: [String] = []
            let root = parsed.map { substitute($0, environment: environment, unset: &unset) }
            config.unsetVariables = unset
            if let root {
                let node = ConfigNode(node: root, file: path, path: "")
                try config.apply(node)
                if let a = node.child("alerting") { config.alerting = try AlertingSettings.parse(a, configFile: path) }
            }
        }
        try config.applyEnvironment(environment)
        return config
    }

    /// Replaces `${VAR}` in the parsed document's scalar values with the environment's value (empty when unset,
    /// reported back in `unset`). Substituting after parsing keeps every value literal: a secret holding `#`, `"`,
    /// `: ` or a line break stays one string and cannot reshape the file, and a commented-out line asks for nothing.
    static func substitute(_ node: Node, environment: [String: String], unset: inout [String]) -> Node {
        switch node {
        case .scalar(var scalar):
            guard scalar.string.contains("${") else { return node }
            let (text, missing) = substituteLine(Substring(scalar.string), environment: environment)
            unset += missing.filter { !unset.contains($0) }
            // Assigning resets the tag to implicit, so a plain `${PORT}` reads as the number it names.
            scalar.string = text
            return .scalar(scalar)
        case .mapping(var mapping):
            for index in mapping.indices {
                let (key, value) = mapping[index]
                mapping[index] = (key, substitute(value, environment: environment, unset: &unset))
            }
            return .mapping(mapping)
        case .sequence(var sequence):
            for index in sequence.indices {
                sequence[index] = substitute(sequence[index], environment: environment, unset: &unset)
            }
            return .sequence(sequence)
        case .alias:
            return node
        }
    }

    private static func substituteLine(_ line: Substring, environment: [String: String]) -> (String, [String]) {
        var out = ""
        var unset: [String] = []
        var rest = line
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                out += rest[start.lowerBound...]
                return (out, unset)
            }
            let name = String(rest[start.upperBound..<end])
            if let value = environment[name] { out += value } else { unset.append(name) }
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return (out, unset)
    }

    private mutating func apply(_ root: ConfigNode) throws(ConfigError) {
        try root.checkKeys([
            "listen", "redis_url", "database_url", "database_schema", "redis_key_prefix", "wal", "auth", "windows",
            "errors", "limits", "ingest", "aliases", "funnels", "alerting", "raw_events", "query", "console",
            "retention", "http",
        ])
        if let http = root.child("http") {
            try http.checkKeys(["idle_timeout", "max_connections"])
            if let n = http.child("max_connections") {
                httpMaxConnections = try n.int()
                guard httpMaxConnections >= 1, httpMaxConnections <= 1_000_000 else {
                    throw n.error("must be from 1 to 1000000")
                }
            }
            if let n = http.child("idle_timeout") {
                httpIdleTimeoutMs = try n.duration()
                guard httpIdleTimeoutMs >= 1_000, httpIdleTimeoutMs <= 3_600_000 else {
                    throw n.error("must be from 1s to 1h")
                }
            }
        }
        if let console = root.child("console") {
            try console.checkKeys(["assets_dir", "dashboards_dir"])
            if let n = console.child("assets_dir") { consoleAssetsDir = try n.string() }
            if let n = console.child("dashboards_dir") { consoleDashboardsDir = try n.string() }
        }
        if let n = root.child("listen") { try setListen(try n.string(), node: n) }
        if let n = root.child("redis_url") { redisURL = try n.string() }
        if let n = root.child("database_url") { databaseURL = try n.string() }
        if let n = root.child("database_schema") { databaseSchema = try n.string() }
        if let n = root.child("redis_key_prefix") { redisKeyPrefix = try n.string() }
        if let wal = root.child("wal") {
            try wal.checkKeys(["dir", "max_bytes"])
            if let n = wal.child("dir") { walDirectory = try n.string() }
            if let n = wal.child("max_bytes") { walMaxBytes = try n.bytes() }
        }
        if let auth = root.child("auth") {
            try auth.checkKeys(["tokens", "public_metrics"])
            if let n = auth.child("public_metrics") { publicMetrics = try n.bool() }
            if let list = auth.child("tokens") {
                for t in try list.sequence() {
                    try t.checkKeys(["name", "token", "scopes"])
                    guard let name = t.child("name") else { throw t.error("a token needs a name") }
                    guard let secret = t.child("token") else { throw t.error("a token needs a token (the secret)") }
                    var scopes = Set<String>()
                    for s in try t.child("scopes")?.sequence() ?? [] {
                        let scope = try s.string()
                        guard ["ingest", "read", "admin"].contains(scope) else {
                            throw s.error("unknown scope '\(scope)': use ingest, read or admin")
                        }
                        scopes.insert(scope)
                    }
                    tokens.append(.init(name: try name.string(), secret: try secret.string(), scopes: scopes))
                }
            }
        }
        if let n = root.child("windows") {
            windowsMs = []
            for w in try n.sequence() {
                let ms = try w.duration()
                guard ms > 0, ms % 10_000 == 0, ms <= 3_600_000 || ms % 60_000 == 0, ms <= 31 * 86_400_000 else {
                    throw w.error("windows must be multiples of 10s (and of 1m above 1h), from 10s to 31d")
                }
                windowsMs.append(ms)
            }
        }
        if let errors = root.child("errors") {
            try errors.checkKeys(["status_at_least"])
            if let n = errors.child("status_at_least") {
                errorStatusAtLeast = try n.int()
                guard (100...599).contains(errorStatusAtLeast) else { throw n.error("must be an HTTP status 100–599") }
            }
        }
        if let limits = root.child("limits") {
            try limits.checkKeys(["routes_per_service", "services", "queues_per_service", "jobs_per_queue"])
            if let n = limits.child("routes_per_service") {
                routesPerService = try n.int()
                guard routesPerService > 0 else { throw n.error("must be at least 1") }
            }
            if let n = limits.child("services") {
                identityLimits.services = try n.int()
                guard identityLimits.services > 0 else { throw n.error("must be at least 1") }
            }
            if let n = limits.child("queues_per_service") {
                identityLimits.queuesPerService = try n.int()
                guard identityLimits.queuesPerService > 0 else { throw n.error("must be at least 1") }
            }
            if let n = limits.child("jobs_per_queue") {
                identityLimits.jobsPerQueue = try n.int()
                guard identityLimits.jobsPerQueue > 0 else { throw n.error("must be at least 1") }
            }
        }
        if let ingest = root.child("ingest") {
            try ingest.checkKeys(["max_body_bytes", "max_age"])
            if let n = ingest.child("max_body_bytes") { maxBodyBytes = Int(try n.bytes()) }
            if let n = ingest.child("max_age") { maxAgeMs = try n.duration() }
        }
        if let query = root.child("query") {
            try query.checkKeys(["max_series", "timeout", "max_points"])
            if let n = query.child("max_series") {
                queryLimits.maxSeries = try n.int()
                guard queryLimits.maxSeries >= 1 else { throw n.error("must be at least 1 series") }
            }
            if let n = query.child("timeout") {
                let ms = try n.duration()
                guard (1_000...600_000).contains(ms) else { throw n.error("must be from 1s to 10m") }
                queryLimits.timeout = .milliseconds(ms)
            }
            if let n = query.child("max_points") {
                let points = try n.int()
                guard (2...1_000_000).contains(points) else { throw n.error("must be from 2 to 1000000 points") }
                queryLimits.maxPoints = Int64(points)
            }
        }
        if let list = root.child("funnels") { funnels = try FunnelSettings.parse(list) }
        if let node = root.child("retention") {
            try node.checkKeys([
                "alert_history", "notifications", "funnel_records", "rollups", "rollups_downsample_after", "quarantine",
                "quarantine_bytes", "every",
            ])
            // A duration, or `forever`.
            func kept(_ key: String) throws(ConfigError) -> Int64?? {
                guard let n = node.child(key) else { return .none }
                if try n.string() == "forever" { return .some(nil) }
                return .some(try n.duration())
            }
            if let v = try kept("alert_history") { retention.alertHistoryMs = v }
            if let v = try kept("notifications") { retention.notificationsMs = v }
            if let v = try kept("funnel_records") {
                retention.funnelRecordsMs = v
                // Funnel figures are computed from the records of the window and its conversion window.
                let needed = (windowsMs.max() ?? 0) + (funnels.map(\.windowMs).max() ?? 0)
                if let v, v < needed, let n = node.child("funnel_records") {
                    throw n.error(
                        "must be at least the longest window plus the longest funnel window (\(needed / 60_000) min)")
                }
            }
            if let v = try kept("rollups") { retention.rollupsMs = v }
            if let v = try kept("rollups_downsample_after") { retention.rollupsDownsampleAfterMs = v }
            if let v = retention.rollupsMs, let n = node.child("rollups") ?? node.child("rollups_downsample_after") {
                // Windows are read from the rollups; the newest two days are still being compacted.
                let needed = max(windowsMs.max() ?? 0, 2 * 86_400_000)
                if v < needed {
                    throw n.error("rollups must be kept at least the longest window and 2 days (\(needed / 3_600_000) h)")
                }
                if let after = retention.rollupsDownsampleAfterMs, after > v {
                    throw n.error("rollups_downsample_after must not be longer than rollups (they would be dropped first)")
                }
            }
            if let after = retention.rollupsDownsampleAfterMs, after < 2 * 86_400_000,
                let n = node.child("rollups_downsample_after")
            {
                throw n.error("must be at least 2d: the flusher compacts the last day's minutes")
            }
            if let v = try kept("quarantine") { quarantineRetention.maxAgeMs = v }
            if let n = node.child("quarantine_bytes") {
                quarantineRetention.maxBytes = try n.bytes()
                guard quarantineRetention.maxBytes >= 1 << 20 else { throw n.error("must be at least 1MiB") }
            }
            if let n = node.child("every") { retentionEveryMs = try n.duration() }
        }
        if let raw = root.child("raw_events") {
            try raw.checkKeys(["enabled", "retention", "buffer", "buffer_bytes", "sample_rate", "max_rate"])
            if let n = raw.child("buffer_bytes") {
                rawEventsBufferBytes = Int(try n.bytes())
                guard rawEventsBufferBytes >= 1 << 20 else { throw n.error("must be at least 1MiB") }
            }
            if let n = raw.child("enabled") { rawEventsEnabled = try n.bool() }
            if let n = raw.child("retention") { rawEventsRetentionMs = try n.duration() }
            if let n = raw.child("buffer") {
                rawEventsBuffer = try n.int()
                guard rawEventsBuffer >= 1_000 else { throw n.error("must be at least 1000 events") }
            }
            if let n = raw.child("sample_rate") {
                guard let v = Double(try n.string()), (0...1).contains(v) else {
                    throw n.error("must be a number from 0 to 1 (the share of non-error events kept while the store lags)")
                }
                rawEventsSampleRate = v
            }
            if let n = raw.child("max_rate") {
                rawEventsMaxRate = try n.int()
                guard rawEventsMaxRate >= 0 else {
                    throw n.error("must be events per second, 0 or more (0: as fast as PostgreSQL takes them)")
                }
            }
        }
        if let a = root.child("aliases") {
            guard let mapping = a.node.mapping else { throw a.error("expected a mapping of alias: field") }
            for (k, v) in mapping {
                guard let alias = k.string, let field = v.string else { throw a.error("expected alias: field pairs") }
                aliases[alias] = field
            }
        }
        if let key = funnels.first?.key, key != "entity", let target = aliases[key], target != "entity",
            let node = root.child("funnels")
        {
            throw node.error("funnel key '\(key)' is also an alias of '\(target)' in aliases; use another field")
        }
    }

    private mutating func setListen(_ text: String, node: ConfigNode?) throws(ConfigError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            let message = "listen '\(text)' must be host:port, e.g. 127.0.0.1:9400"
            throw node?.error(message) ?? ConfigError(file: "OPSIGHT_LISTEN", message: message)
        }
        listenHost = String(text[..<colon])
        listenPort = port
    }

    private mutating func applyEnvironment(_ env: [String: String]) throws(ConfigError) {
        if let v = env["OPSIGHT_LISTEN"], !v.isEmpty { try setListen(v, node: nil) }
        if let v = env["OPSIGHT_REDIS_URL"], !v.isEmpty { redisURL = v }
        if let v = env["OPSIGHT_DATABASE_URL"], !v.isEmpty { databaseURL = v }
        if let v = env["OPSIGHT_WAL_DIR"], !v.isEmpty { walDirectory = v }
        if let v = env["OPSIGHT_DATABASE_SCHEMA"], !v.isEmpty { databaseSchema = v }
        if let v = env["OPSIGHT_REDIS_KEY_PREFIX"], !v.isEmpty { redisKeyPrefix = v }
    }

    /// How long job facts are kept for queue wait pairing: `ingest.max_age` and an hour, since a start can only
    /// arrive that long after its enqueue (or the reverse) and still be accepted.
    var jobFactRetentionMs: Int64 { maxAgeMs + 3_600_000 }

    /// The retention sweep's settings, job facts kept for ``jobFactRetentionMs``.
    var retentionConfiguration: PostgresRetention.Configuration {
        var r = retention
        r.jobFactsMs = jobFactRetentionMs
        return r
    }

    var ingestConfiguration: IngestPipeline.Configuration {
        var decoder = EventDecoder.Configuration()
        decoder.aliases = aliases
        // A funnel keyed by a field of the service's own (user_id) reads it as the entity.
        for f in funnels where f.key != "entity" { decoder.aliases[f.key] = "entity" }  // checked at load
        decoder.maxAgeMs = maxAgeMs
        return IngestPipeline.Configuration(
            maxBodyBytes: maxBodyBytes, walMaxBytes: walMaxBytes, decoder: decoder,
            rules: AggregationRules(errorStatusAtLeast: errorStatusAtLeast, funnels: funnels),
            routesPerService: routesPerService, identityLimits: identityLimits)
    }
}
