import Foundation
import Collector
import OpsightMetrics

/// The hot store: one Redis hash per (service, 10-second bucket), incremented with `HINCRBY`.
///
/// Layout (`P` is the key prefix, `{S}` the service as a Redis Cluster hash tag so one service's keys share
/// a slot):
/// - `P:{S}:h:<bucket>` — fields `r␟route␟method␟stat` (stat `n` count, `e` errors, `c1`…`c5` status
///   classes, `z` zero latencies, `b<i>` sketch bucket i), `j␟queue␟job␟stat` (`q` `st` `ok` `f` `rt`
///   counts, `dz`/`d<i>` duration sketch, `wz`/`w<i>` wait sketch) and `l␟level`; expires `retention`
///   after its bucket ends.
/// - `P:{S}:totals` — the same count fields, never expiring: the `_total` counters.
/// - `P:services` — set of services; `P:wal:<collector>` — the log position each collector committed.
///
/// A flush is one `MULTI … EXEC` holding every increment and the new position, so it lands whole or not
/// at all. Sketch buckets as hash fields make merging across collectors a plain `HINCRBY`.
public final class RedisHotStore: MetricsStore {
    /// Key prefix and retention.
    public struct Configuration: Sendable {
        public var keyPrefix: String
        /// How long a bucket is kept after it ends, in seconds: a bit over the longest hot window plus the
        /// 10 minutes of lateness SPEC §5 allows.
        public var retentionSeconds: Int64
        /// Creates the configuration.
        public init(keyPrefix: String = "opsight", retentionSeconds: Int64 = 4_500) {
            self.keyPrefix = keyPrefix
            self.retentionSeconds = retentionSeconds
        }
    }

    public let bucketWidthMs: Int64 = TimeBucket.hotWidthMs
    public var retentionMs: Int64? { configuration.retentionSeconds * 1000 }
    private let client: RedisClient
    private let configuration: Configuration
    private static let sep = "\u{1f}"

    /// Creates the store over a client.
    public init(client: RedisClient, configuration: Configuration = .init()) {
        self.client = client
        self.configuration = configuration
    }

    private func tag(_ service: String) -> String {
        // A '}' would end the hash tag early; the key stays unique either way, only its slot would move.
        "\(configuration.keyPrefix):{\(service.replacingOccurrences(of: "}", with: "%7D"))}"
    }

    private func bucketKey(_ service: String, _ bucket: Int64) -> String { "\(tag(service)):h:\(bucket)" }
    private var servicesKey: String { "\(configuration.keyPrefix):services" }
    private func positionKey(_ collector: String) -> String { "\(configuration.keyPrefix):wal:\(collector)" }

    public func committedPosition(collector: String) async throws -> UInt64 {
        let key = positionKey(collector)
        let reply = try await wrap { try await self.client.command("GET", .string(key)) }
        guard let text = reply.string else { return 0 }
        guard let value = UInt64(text) else { throw StorageError(.corrupt, "\(key) holds '\(text)', not a position") }
        return value
    }

    public func commit(_ delta: Delta, position: UInt64, collector: String) async throws {
        var cmds = RESPCommands(reservingCapacity: 64 * 1024)
        var touched: [String: Int64] = [:]
        var services = Set<String>()
        let s = Self.sep
        for (k, v) in delta.requests {
            let key = bucketKey(k.key.service, k.bucket)
            touched[key] = k.bucket
            services.insert(k.key.service)
            let prefix = "r\(s)\(k.key.route)\(s)\(k.key.method)\(s)"
            Self.counts(&cmds, key, prefix, [("n", v.count), ("e", v.errors)] + Self.classes(v))
            Self.sketch(&cmds, key, prefix + "z", prefix + "b", v.latency)
            Self.counts(&cmds, "\(tag(k.key.service)):totals", prefix, Self.classes(v))
        }
        for (k, v) in delta.jobs {
            let key = bucketKey(k.key.service, k.bucket)
            touched[key] = k.bucket
            services.insert(k.key.service)
            let prefix = "j\(s)\(k.key.queue)\(s)\(k.key.job)\(s)"
            let events: [(String, UInt64)] = [
                ("q", v.enqueued), ("st", v.started), ("ok", v.succeeded), ("f", v.failed), ("rt", v.retried),
            ]
            Self.counts(&cmds, key, prefix, events)
            Self.sketch(&cmds, key, prefix + "dz", prefix + "d", v.duration)
            Self.sketch(&cmds, key, prefix + "wz", prefix + "w", v.wait)
            Self.counts(&cmds, "\(tag(k.key.service)):totals", prefix, events)
        }
        for (k, v) in delta.logs {
            let key = bucketKey(k.key, k.bucket)
            touched[key] = k.bucket
            services.insert(k.key)
            let levels = LogLevel.allCases.map { ("\($0.rawString)", v.count($0)) }
            Self.counts(&cmds, key, "l\(s)", levels)
            Self.counts(&cmds, "\(tag(k.key)):totals", "l\(s)", levels)
        }
        for (key, bucket) in touched {
            let expireAt = bucket * (TimeBucket.hotWidthMs / 1000) + configuration.retentionSeconds
            cmds.append("EXPIREAT", .string(key), .int(expireAt))
        }
        if !services.isEmpty { cmds.append([.string("SADD"), .string(servicesKey)] + services.map { .string($0) }) }
        cmds.append("SET", .string(positionKey(collector)), .string(String(position)))
        let commands = cmds
        _ = try await wrap { try await self.client.transaction(commands) }
    }

    private static func classes(_ v: RequestStats) -> [(String, UInt64)] {
        [("c1", v.class1xx), ("c2", v.class2xx), ("c3", v.class3xx), ("c4", v.class4xx), ("c5", v.class5xx)]
    }

    private static func counts(_ cmds: inout RESPCommands, _ key: String, _ prefix: String, _ fields: [(String, UInt64)]) {
        for (name, value) in fields where value > 0 {
            cmds.hincrby(key, prefix + name, by: Int64(value))
        }
    }

    private static func sketch(_ cmds: inout RESPCommands, _ key: String, _ zeroField: String, _ prefix: String, _ s: LogSketch) {
        if s.zeroCount > 0 { cmds.hincrby(key, zeroField, by: Int64(s.zeroCount)) }
        for b in s.buckets { cmds.hincrby(key, prefix + String(b.index), by: Int64(b.count)) }
    }

    public func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData {
        let names: [String]
        if let service { names = [service] } else { names = try await services() }
        guard !names.isEmpty else { return WindowData() }
        var cmds = RESPCommands()
        var order: [String] = []
        for name in names {
            for b in buckets {
                cmds.append("HGETALL", .string(bucketKey(name, b)))
                order.append(name)
            }
        }
        return try await readHashes(cmds, services: order)
    }

    public func totals() async throws -> WindowData {
        let names = try await services()
        var cmds = RESPCommands()
        for name in names { cmds.append("HGETALL", .string("\(tag(name)):totals")) }
        return try await readHashes(cmds, services: names)
    }

    /// Runs `HGETALL`s and adds their fields up; `services[i]` is the service of the i-th command.
    private func readHashes(_ cmds: RESPCommands, services order: [String]) async throws -> WindowData {
        let commands = cmds
        let replies = try await wrap { try await self.client.pipeline(commands) }
        var out = WindowData()
        for (name, reply) in zip(order, replies) {
            guard let items = reply.array, !items.isEmpty else { continue }
            var i = 0
            while i + 1 < items.count {
                if let field = items[i].string, let text = items[i + 1].string, let value = UInt64(text) {
                    Self.apply(field: field, value: value, service: name, to: &out)
                }
                i += 2
            }
        }
        return out
    }

    /// Adds one hash field to `out`; unknown fields are ignored (a newer collector may write more).
    private static func apply(field: String, value: UInt64, service: String, to out: inout WindowData) {
        let parts = field.split(separator: "\u{1f}", omittingEmptySubsequences: false)
        switch parts.first {
        case "r" where parts.count == 4:
            let key = RequestKey(service: service, route: String(parts[1]), method: String(parts[2]))
            Self.applyRequest(stat: parts[3], value: value, to: &out.requests[key, default: RequestStats()])
        case "j" where parts.count == 4:
            let key = JobKey(service: service, queue: String(parts[1]), job: String(parts[2]))
            Self.applyJob(stat: parts[3], value: value, to: &out.jobs[key, default: JobStats()])
        case "l" where parts.count == 2:
            guard let level = LogLevel.allCases.first(where: { $0.rawString == parts[1] }) else { return }
            out.logs[service, default: LogStats()].record(level, count: value)
        default:
            return
        }
    }

    private static func applyRequest(stat: Substring, value: UInt64, to st: inout RequestStats) {
        switch stat {
        case "n": st.count += value
        case "e": st.errors += value
        case "c1": st.class1xx += value
        case "c2": st.class2xx += value
        case "c3": st.class3xx += value
        case "c4": st.class4xx += value
        case "c5": st.class5xx += value
        case "z": st.latency.addZero(count: value)
        default:
            if stat.hasPrefix("b"), let idx = Int32(stat.dropFirst()) { st.latency.add(bucket: idx, count: value) }
        }
    }

    private static func applyJob(stat: Substring, value: UInt64, to st: inout JobStats) {
        switch stat {
        case "q": st.enqueued += value
        case "st": st.started += value
        case "ok": st.succeeded += value
        case "f": st.failed += value
        case "rt": st.retried += value
        case "dz": st.duration.addZero(count: value)
        case "wz": st.wait.addZero(count: value)
        default:
            if stat.hasPrefix("d"), let idx = Int32(stat.dropFirst()) {
                st.duration.add(bucket: idx, count: value)
            } else if stat.hasPrefix("w"), let idx = Int32(stat.dropFirst()) {
                st.wait.add(bucket: idx, count: value)
            }
        }
    }

    public func services() async throws -> [String] {
        let key = servicesKey
        let reply = try await wrap { try await self.client.command("SMEMBERS", .string(key)) }
        return (reply.array ?? []).compactMap(\.string).sorted()
    }

    public func ping() async throws {
        _ = try await wrap { try await self.client.command("PING") }
    }

    private func wrap<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisError {
            throw StorageError(.redis, "Redis at \(client.url.host):\(client.url.port): \(error.message)", underlying: error)
        }
    }
}
