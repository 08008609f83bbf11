import Collector
import Foundation
import OpsightMetrics

/// The hot store: one Redis hash per (service, 10-second bucket), to which each commit adds one field, its *part*.
///
/// Layout (`P` is the key prefix, `{S}` the service as a Redis Cluster hash tag so one service's keys share
/// a slot):
/// - `P:{S}:h:<bucket>` — fields `r␟route␟method␟stat` (stat `n` count — written only when it is not the sum of the
///   classes, see ``add(_:to:)`` —, `e` errors, `c1`…`c5` status
///   classes, `z` zero latencies, `b<i>` sketch bucket i; a cell whose requests all have one status class `k` and a
///   latency writes `s<k>z` and `s<k>b<i>` instead, each counting in both the class and the sketch),
///   `j␟queue␟job␟stat` (`q` `st` `ok` `f` `rt`
///   counts, `dz`/`d<i>` duration sketch, `wz`/`w<i>` wait sketch) and `l␟level`; expires `retention`
///   after its bucket ends. These field names and their increments are not hash fields of their own: a commit writes
///   all of a hash's as one field, a part (``HotPart``: one `HSET` instead of a `HINCRBY` per field, which Redis
///   executed at ~3 % of the cost), readers add up every part (and plain fields, the layout before parts), and the
///   committing collector folds a hash's parts into one once its bucket has ended and the flush has caught up
///   (`RedisHotStore+Parts.swift`).
/// - `P:{S}:totals` — the status class, job event and level count fields, never expiring: the `_total` counters;
///   parts as well, folded every ``PartFolds/maxParts`` commits.
/// - `P:services` — set of services (on a cluster one per feed shard, below); `P:wal:<collector>` — the log position
///   each collector committed.
/// - `P:funnel:<name>` — a sorted set of funnel step records (`step␟time␟entity`, scored by time), trimmed to
///   the retention at every commit that adds to it.
/// - `P:changes` — a stream with one entry per commit holding its bucket increments (``ChangeRecord``, field `d`;
///   field `o`, when present, is a token only the committing process knows: ``OwnChanges``), and
///   `P:changes:count`, how many entries it ever had: the change feed window caches follow.
/// - `P:changes:funnels` — a stream with one entry per commit holding its funnel step records, and
///   `P:changes:funnels:count`: the log funnel caches follow (`RedisHotStore+FunnelFeed.swift`).
/// - `P:{S}:job:<job_id>` — the job's `enqueued` (`e<time>`) and `started` (`s<time>␟queue␟job`) facts, kept
///   `jobFactRetentionSeconds` after the last one arrived; a commit pairs new facts with them into queue wait
///   (``QueueWaitPairing``), retractions counted in `x…` fields beside the wait sketch's `w…`.
/// - `P:epoch` — the hot epoch (docs/hot-store-loss.md); `P:rebuild` — the lock of a rebuild under way (on a Redis
///   Cluster `P:{epoch}` and `P:{epoch}:rebuild`, one slot, and a copy of the epoch in every slot, `P:{tag}:epoch`).
///
/// A flush is one `MULTI … EXEC` holding every part and the new position, so it lands whole or not
/// at all. Sketch buckets as counts per field name make merging across collectors a sum. What decides a commit —
/// the epoch and the collector's position for a guarded commit, the facts of the jobs it pairs — is `WATCH`ed
/// and read first on the same connection: if another collector changes any of it before `EXEC`, nothing is
/// applied and the commit is worked out again.
///
/// On a Redis Cluster (see `RedisHotStore+Cluster.swift`) the change feed, its count, the funnel log and the services
/// set are split into 16 feed shards `P:{changes-<n>}…` spread over the slot space, each collector writing its own
/// (with `P:{changes-<n>}:inflight`, the collectors whose flush is under way) and readers reading all; a flush is
/// one `MULTI` per slot, journaled in `P:wal:<collector>:journal` with a marker `P:{tag}:once:<collector>` per slot
/// so that it lands exactly once even when the collector dies between slots. No `WATCH` spans slots there: job facts
/// are read, then the flush goes slot by slot (``commitOnCluster(_:)``); the epoch guard is checked per slot, by a
/// script that also checks the collector's marker there (`RedisHotStore+ClusterEpoch.swift`).
public final class RedisHotStore: MetricsStore, ChangeFeed, FunnelStepStore {
    /// Key prefix and retention.
    public struct Configuration: Sendable {
        public var keyPrefix: String
        /// How long a bucket is kept after it ends, in seconds: a bit over the longest hot window plus the
        /// 10 minutes of lateness SPEC §5 allows.
        public var retentionSeconds: Int64
        /// About how many commits the change feed keeps (`XADD … MAXLEN ~`): readers poll at least every
        /// second, so this is minutes of commits even with several collectors.
        public var changeFeedLength: Int64
        /// How long a job's facts are kept after its last one arrived: a bit over `ingest.max_age`, the most a
        /// start and its enqueue can be apart and still arrive.
        public var jobFactRetentionSeconds: Int64
        /// Told what epoch each read found, so a store that lost it is noticed between flushes.
        public var signal: HotEpochSignal?
        /// Shared by the store a collector commits through and the one its hot window cache polls: that cache takes
        /// the collector's own commits from memory rather than decoding their records (``OwnChanges``).
        public var ownChanges: OwnChanges?
        /// About how many commits the funnel step log keeps (``FunnelStepFeed``): a funnel cache that misses more
        /// entries than this between two polls reads every record again.
        public var funnelLogLength: Int64 = 10_000
        /// On a Redis Cluster, the file where the collector that commits through this store keeps what it committed
        /// per slot across restarts (``HotSlotTracker``); nil keeps it in memory. Readers' stores leave it nil.
        public var slotStatePath: String?
        /// Creates the configuration.
        public init(
            keyPrefix: String = "opsight", retentionSeconds: Int64 = 4_500, changeFeedLength: Int64 = 1_000,
            jobFactRetentionSeconds: Int64 = 90_000, signal: HotEpochSignal? = nil
        ) {
            self.keyPrefix = keyPrefix
            self.retentionSeconds = retentionSeconds
            self.changeFeedLength = changeFeedLength
            self.jobFactRetentionSeconds = jobFactRetentionSeconds
            self.signal = signal
        }
    }

    public let bucketWidthMs: Int64 = TimeBucket.hotWidthMs
    public var retentionMs: Int64? { configuration.retentionSeconds * 1000 }
    let client: RedisClient
    let configuration: Configuration
    /// The registry of this process's own commits the store's feed reads take cells from (``Configuration/ownChanges``).
    public var ownChanges: OwnChanges? { configuration.ownChanges }
    let clock: WallClock
    /// On a Redis Cluster: what this store's collector committed in each slot, to notice a slot that lost it.
    let tracker: HotSlotTracker
    /// The hashes this store's commits wrote parts to, to fold (`RedisHotStore+Parts.swift`).
    let folds = PartFolds()
    static let sep = "\u{1f}"

    /// Creates the store over `client`; `clock` times the trimming of old funnel records.
    public init(client: RedisClient, configuration: Configuration = .init(), clock: WallClock = .system) {
        self.client = client
        self.configuration = configuration
        self.clock = clock
        self.tracker = HotSlotTracker(path: client.isCluster ? configuration.slotStatePath : nil)
        if client.isCluster {
            // A changed slot map may be a failover that lost writes: the recovery looks at the markers soon.
            let (tracker, signal) = (tracker, configuration.signal)
            client.onTopologyChange { _ in
                tracker.topologyChanged()
                signal?.suspectLoss()
            }
        }
    }

    func tag(_ service: String) -> String {
        // A '}' would end the hash tag early; the key stays unique either way, only its slot would move.
        guard service.utf8.contains(UInt8(ascii: "}")) else { return "\(configuration.keyPrefix):{\(service)}" }
        return "\(configuration.keyPrefix):{\(service.replacingOccurrences(of: "}", with: "%7D"))}"
    }

    func bucketKey(_ service: String, _ bucket: Int64) -> String { bucketKey(tag: tag(service), bucket) }
    /// The bucket hash of a service whose ``tag(_:)`` is `tag`.
    func bucketKey(tag: String, _ bucket: Int64) -> String { "\(tag):h:\(bucket)" }
    var keyPrefix: String { configuration.keyPrefix }
    /// The services set, the change feed and its count on a single server (shard 0 of the feed's one shard).
    var servicesKey: String { servicesKey(shard: 0) }
    var changesKey: String { feedKey(shard: 0) }
    var changeCountKey: String { changeCountKey(shard: 0) }

    // MARK: - Feed shards

    /// How many shards the change feed, the funnel log, the in-flight set and the services set are split into on a
    /// Redis Cluster (``feedTags``); one on a single server.
    static let feedShardCount = 16
    var feedShards: Int { client.isCluster ? Self.feedShardCount : 1 }

    /// The hash tag of each feed shard on a Redis Cluster: shard i's is `changes-<n>` with the least n whose slot lies
    /// in `[i·1024, (i+1)·1024)`. Spread evenly over the slot space, the shards spread over the masters whatever the
    /// slot assignment (a master holds a range of slots), so no master takes every collector's feed writes and every
    /// reader's polls; a name found by search, not a fixed list, so that it never drifts from the slot function.
    static let feedTags: [String] = (0..<feedShardCount).map { i in
        let width = RedisKeySlot.count / feedShardCount
        var n = 0
        while RedisKeySlot.slot("changes-\(n)") / width != i { n += 1 }
        return "changes-\(n)"
    }

    /// The stream of feed shard `shard`; its other keys (count, in-flight set, funnel log, services) are suffixes.
    func feedKey(shard: Int) -> String {
        client.isCluster ? "\(keyPrefix):{\(Self.feedTags[shard])}" : "\(keyPrefix):changes"
    }
    func changeCountKey(shard: Int) -> String { "\(feedKey(shard: shard)):count" }
    func servicesKey(shard: Int) -> String {
        client.isCluster ? "\(feedKey(shard: shard)):services" : "\(keyPrefix):services"
    }

    /// The feed shard a collector writes: FNV-1a of its ID (stable across processes, unlike `Hasher`), modulo the
    /// shard count.
    func feedShard(of collector: String) -> Int {
        guard client.isCluster else { return 0 }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in collector.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return Int(h % UInt64(Self.feedShardCount))
    }
    func positionKey(_ collector: String) -> String { "\(configuration.keyPrefix):wal:\(collector)" }
    // On a cluster the epoch and the rebuild lock share a slot, so one connection can WATCH the lock and write both.
    var epochKey: String { client.isCluster ? "\(keyPrefix):{epoch}" : "\(keyPrefix):epoch" }
    var rebuildKey: String { client.isCluster ? "\(keyPrefix):{epoch}:rebuild" : "\(keyPrefix):rebuild" }
    func jobKey(_ id: JobIdentity) -> String { "\(tag(id.service)):job:\(id.jobID)" }

    public func committedPosition(collector: String) async throws -> UInt64 {
        if client.isCluster { try await finishInterruptedCommit(collector: collector) }
        let key = positionKey(collector)
        let reply = try await wrap { try await self.client.command("GET", .string(key)) }
        guard let text = reply.string else { return 0 }
        guard let value = UInt64(text) else { throw StorageError(.corrupt, "\(key) holds '\(text)', not a position") }
        return value
    }

    public func commit(_ delta: Delta, position: UInt64, collector: String) async throws {
        _ = try await commit(delta, position: position, collector: collector, guard: nil)
    }

    /// Commits `delta` up to `position`: unguarded (`expecting` nil) or only when the store holds the epoch and
    /// position expected. Job facts are paired with those the store holds, all on one connection between `WATCH`
    /// and `EXEC`; a concurrent change to what was read makes `EXEC` apply nothing, and the commit is redone.
    func commit(_ delta: Delta, position: UInt64, collector: String, guard expecting: HotExpectation?) async throws
        -> GuardedCommit
    {
        var base = Writes(cmds: RESPCommands(reservingCapacity: 64 * 1024))
        add(delta, to: &base)
        base.deltas = [delta]
        var jobs: [JobIdentity: String] = [:]
        for f in delta.jobFacts where jobs[f.identity] == nil { jobs[f.identity] = jobKey(f.identity) }
        let plan = CommitPlan(
            base: base, facts: delta.jobFacts, funnelSteps: delta.funnelSteps, jobKeys: jobs, position: position,
            collector: collector, expecting: expecting)
        let outcome = try await client.isCluster ? commitOnCluster(plan) : commitOnOneServer(plan)
        if outcome == .committed {
            folds.note(base.partKeys, nowMs: clock.nowMs())
            await foldFullParts()
        }
        return outcome
    }

    private func commitOnOneServer(_ plan: CommitPlan) async throws -> GuardedCommit {
        for _ in 0..<100 {
            let outcome = try await wrap {
                try await self.client.withConnection { conn in try self.attempt(plan, on: conn) }
            }
            if let outcome { return outcome }
        }
        throw StorageError(.redis, "a commit kept conflicting with other collectors' commits of the same jobs")
    }

    /// What one commit writes, fixed before its reads.
    struct CommitPlan: Sendable {
        var base: Writes
        var facts: Set<JobFact>
        var funnelSteps: Set<FunnelStepRecord>
        var jobKeys: [JobIdentity: String]
        var position: UInt64
        var collector: String
        var expecting: HotExpectation?
    }

    /// One try of a commit on `conn`; nil when a watched key changed before `EXEC` (nothing was applied).
    private func attempt(_ plan: CommitPlan, on conn: RedisConnection) throws(RedisError) -> GuardedCommit? {
        let keys = Array(plan.jobKeys)
        let watching = plan.expecting != nil || !keys.isEmpty
        var w = plan.base
        if watching {
            var watch: [RESPArg] = [.string("WATCH")]
            if plan.expecting != nil { watch += [.string(epochKey), .string(positionKey(plan.collector))] }
            for (_, key) in keys { watch.append(.string(key)) }
            _ = try conn.command(watch)
            var reads = RESPCommands()
            reads.append("GET", .string(epochKey))
            reads.append("GET", .string(positionKey(plan.collector)))
            for (_, key) in keys { reads.append("HGETALL", .string(key)) }
            let replies = try conn.pipeline(reads)
            if let expecting = plan.expecting {
                let epoch = replies[0].string
                let held = replies[1].string.flatMap { UInt64($0) } ?? 0
                let verdict: GuardedCommit? =
                    if expecting.epoch == nil || epoch != expecting.epoch {
                        .lost("the store's epoch is \(epoch ?? "missing"), not \(expecting.epoch ?? "none")")
                    } else if held < expecting.position {
                        .lost(
                            "the store holds position \(held) for this collector, which committed \(expecting.position)"
                        )
                    } else if held >= plan.position {
                        .alreadyHeld
                    } else {
                        nil
                    }
                if let verdict {
                    _ = try conn.command("UNWATCH")
                    return verdict
                }
            }
            pair(plan.facts, keys: keys, hashes: replies[2...], into: &w)
        }
        // Registered before `EXEC`, so the window cache's poll never finds the entry before its cells.
        let own = w.change.isEmpty ? nil : configuration.ownChanges
        let token = own?.register(w.deltas)
        var cmds = finish(w, funnelSteps: plan.funnelSteps, changeFeed: true, ownToken: token)
        cmds.append("SET", .string(positionKey(plan.collector)), .string(String(plan.position)))
        do {
            _ = try conn.transaction(cmds)
        } catch {
            if let token { own?.withdraw(token) }
            if error.code == .transactionAborted { return nil }
            throw error
        }
        return .committed
    }

    /// Pairs `facts` with those the store holds (`hashes[i]`: the `HGETALL` of `keys[i]`) and adds the queue wait
    /// changes and the new facts to `w`.
    func pair(
        _ facts: Set<JobFact>, keys: [(JobIdentity, String)], hashes: ArraySlice<RedisReply>, into w: inout Writes
    ) {
        var existing: [JobIdentity: [JobFact]] = [:]
        for (i, (id, _)) in keys.enumerated() {
            existing[id] = Self.jobFacts(of: id, hash: hashes[hashes.startIndex + i].array ?? [])
        }
        let changes = QueueWaitPairing.changes(of: facts) { existing[$0] ?? [] }
        if !changes.added.isEmpty || !changes.retracted.isEmpty {
            var waits = Delta()
            waits.addWaits(changes, widthMs: bucketWidthMs)
            add(waits, to: &w)
            w.deltas.append(waits)
        }
        addFacts(changes.newFacts, to: &w)
    }

    /// Adds the increments of every cell of `delta` (bucket hashes, totals, the change record) to `w`.
    ///
    /// A request cell's count is not written when it equals the sum of its status classes, which it always does for
    /// counted requests (every status has a class): readers take the larger of `n` and that sum (``HotFieldReader``),
    /// so hashes written before this rule, with `n`, read the same. One field less per cell is about a quarter of the
    /// `HINCRBY`s of a flush where most cells hold one request (a file of the last hour shipped at once). The `_total`
    /// counters are added up per series first, so a series in many buckets costs one increment per class.
    func add(_ delta: Delta, to w: inout Writes) {
        let s = Self.sep
        // Room for a series per cell: grown from empty, this table was ~8 % of building a shipment's hot commit.
        var requestTotals: [RequestKey: ClassCounts] = [:]
        requestTotals.reserveCapacity(delta.requests.count)
        // Cells taken hash by hash, (service, bucket) after (service, bucket), rather than in the dictionary's order:
        // a file of the last hour makes about one cell per (series, bucket), so in that order nearly every cell
        // named another hash than the one before it and built its key, found its part and its expiry entry and
        // opened a change-record group of its own (perf: ~25 % of a hot commit's CPU, docs/benchmarks.md).
        var cell = ("", "", Int64.min)
        var open: (service: Int, bucket: Int64)?
        for (group, i) in Self.hashOrder(delta.requests, service: \.service) {
            let (k, v) = delta.requests[i]
            if open == nil || open! != group {
                open = group
                let service = k.key.service
                cell = (bucketKey(tag: w.tag(service, self), k.bucket), service, k.bucket)
                w.touch(cell.0, k.bucket, service)
            }
            w.series(UInt8(ascii: "r"), k.key.route, k.key.method)
            let classes = ClassCounts(v)
            if v.count != classes.sum { w.count(cell, Stat.n, v.count) }
            w.count(cell, Stat.e, v.errors)
            if let k = classes.only, v.latency.count == classes[k] {
                // One field per sketch bucket stands for the class too: half the increments of a one-request cell.
                w.sketch(cell, zero: Stat.folded[k].zero, bucket: Stat.folded[k].bucket, v.latency)
            } else {
                for i in 0..<5 { w.count(cell, Stat.classes[i], classes[i]) }
                w.sketch(cell, zero: Stat.z, bucket: Stat.b, v.latency)
            }
            requestTotals[k.key, default: ClassCounts()].add(classes)
        }
        for (k, classes) in requestTotals {
            let prefix = "r\(s)\(k.route)\(s)\(k.method)\(s)"
            w.totals("\(w.tag(k.service, self)):totals", prefix, (0..<5).map { (Self.classNames[$0], classes[$0]) })
        }
        var jobTotals: [JobKey: [UInt64]] = [:]
        jobTotals.reserveCapacity(delta.jobs.count)
        open = nil
        for (group, i) in Self.hashOrder(delta.jobs, service: \.service) {
            let (k, v) = delta.jobs[i]
            if open == nil || open! != group {
                open = group
                cell = (bucketKey(tag: w.tag(k.key.service, self), k.bucket), k.key.service, k.bucket)
                w.touch(cell.0, k.bucket, k.key.service)
            }
            w.series(UInt8(ascii: "j"), k.key.queue, k.key.job)
            let events = [v.enqueued, v.started, v.succeeded, v.failed, v.retried]
            for (name, value) in zip(Stat.jobEvents, events) { w.count(cell, name, value) }
            w.sketch(cell, zero: Stat.dz, bucket: Stat.d, v.duration)
            w.sketch(cell, zero: Stat.wz, bucket: Stat.w, v.wait)
            w.sketch(cell, zero: Stat.xz, bucket: Stat.x, v.waitRetracted)
            jobTotals[k.key, default: [0, 0, 0, 0, 0]].add(events)
        }
        for (k, events) in jobTotals {
            let prefix = "j\(s)\(k.queue)\(s)\(k.job)\(s)"
            w.totals("\(w.tag(k.service, self)):totals", prefix, zip(Self.jobEventNames, events))
        }
        var logTotals: [String: [UInt64]] = [:]
        for (k, v) in delta.logs {
            let key = bucketKey(tag: w.tag(k.key, self), k.bucket)
            w.touch(key, k.bucket, k.key)
            w.logSeries()
            let levels = LogLevel.allCases.map { v.count($0) }
            for (name, value) in zip(Stat.levels, levels) { w.count((key, k.key, k.bucket), name, value) }
            logTotals[k.key, default: Array(repeating: 0, count: levels.count)].add(levels)
        }
        for (service, levels) in logTotals {
            w.totals("\(w.tag(service, self)):totals", "l\(s)", zip(Self.levelNames, levels))
        }
    }

    /// The cells of `cells` in the order of their hashes: by service (numbered as first met), then by bucket.
    static func hashOrder<Key: BucketKey, Value>(
        _ cells: [Bucketed<Key>: Value], service: (Key) -> String
    ) -> [(group: (service: Int, bucket: Int64), index: Dictionary<Bucketed<Key>, Value>.Index)] {
        var numbers: [String: Int] = [:]
        var order: [(group: (service: Int, bucket: Int64), index: Dictionary<Bucketed<Key>, Value>.Index)] = []
        order.reserveCapacity(cells.count)
        let keys = cells.keys
        var i = keys.startIndex
        while i != keys.endIndex {
            let k = keys[i]
            let name = service(k.key)
            let number: Int
            if let known = numbers[name] {
                number = known
            } else {
                number = numbers.count
                numbers[name] = number
            }
            order.append(((number, k.bucket), i))
            keys.formIndex(after: &i)
        }
        order.sort { a, b in
            a.group.service != b.group.service ? a.group.service < b.group.service : a.group.bucket < b.group.bucket
        }
        return order
    }

    /// A request series' status class counts, 1xx … 5xx, without an array per cell.
    struct ClassCounts {
        var c: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        init() {}
        init(_ v: RequestStats) { c = (v.class1xx, v.class2xx, v.class3xx, v.class4xx, v.class5xx) }
        subscript(i: Int) -> UInt64 {
            switch i {
            case 0: c.0
            case 1: c.1
            case 2: c.2
            case 3: c.3
            default: c.4
            }
        }
        var sum: UInt64 { c.0 &+ c.1 &+ c.2 &+ c.3 &+ c.4 }
        /// The one class that has requests, when exactly one has.
        var only: Int? {
            var found: Int?
            for i in 0..<5 where self[i] > 0 {
                if found != nil { return nil }
                found = i
            }
            return found
        }
        mutating func add(_ o: ClassCounts) {
            c = (c.0 &+ o.c.0, c.1 &+ o.c.1, c.2 &+ o.c.2, c.3 &+ o.c.3, c.4 &+ o.c.4)
        }
    }

    /// Stat names of the bucket hashes' fields (see the type's comment), as bytes.
    enum Stat {
        static let n = Array("n".utf8), e = Array("e".utf8), z = Array("z".utf8), b = Array("b".utf8)
        static let classes = RedisHotStore.classNames.map { Array($0.utf8) }
        /// A class and a sketch bucket in one field: `s<k>z` (zero latency) and `s<k>b` followed by the bucket index.
        static let folded = (1...5).map { (zero: Array("s\($0)z".utf8), bucket: Array("s\($0)b".utf8)) }
        static let jobEvents = RedisHotStore.jobEventNames.map { Array($0.utf8) }
        static let dz = Array("dz".utf8), d = Array("d".utf8), wz = Array("wz".utf8), w = Array("w".utf8)
        static let xz = Array("xz".utf8), x = Array("x".utf8)
        static let levels = RedisHotStore.levelNames.map { Array($0.utf8) }
    }

    static let classNames = ["c1", "c2", "c3", "c4", "c5"]
    static let jobEventNames = ["q", "st", "ok", "f", "rt"]
    static let levelNames = LogLevel.allCases.map(\.rawString)

    /// The commands of `w` with the bucket expiries, the services set, the funnel records and (when `changeFeed`)
    /// the change feed entry.
    /// `shard` is the feed shard written (the committing collector's; any for a rebuild's load, which has no feed).
    /// `ownToken` is written into the feed entry as field `o` (``OwnChanges``).
    func finish(
        _ w: Writes, funnelSteps: Set<FunnelStepRecord>, changeFeed: Bool, shard: Int = 0, ownToken: String? = nil
    ) -> RESPCommands {
        var cmds = w.cmds
        for part in w.parts where !part.bytes.isEmpty { cmds.hset(part.key, w.partName, part.bytes) }
        for (key, bucket) in w.touched {
            let expireAt = bucket * (TimeBucket.hotWidthMs / 1000) + configuration.retentionSeconds
            cmds.append("EXPIREAT", .string(key), .int(expireAt))
        }
        if !w.services.isEmpty {
            cmds.append([.string("SADD"), .string(servicesKey(shard: shard))] + w.services.map { .string($0) })
        }
        appendFunnelSteps(funnelSteps, to: &cmds)
        if changeFeed { appendFunnelLog(funnelSteps, shard: shard, to: &cmds) }
        if changeFeed && !w.change.isEmpty {
            // The same increments, as one entry of the change feed that window caches follow (see `poll`).
            cmds.append("INCR", .string(changeCountKey(shard: shard)))
            var xadd: [RESPArg] = [
                .string("XADD"), .string(feedKey(shard: shard)), .string("MAXLEN"), .string("~"),
                .int(configuration.changeFeedLength), .string("*"), .string("d"), .bytes(w.change.encoded()),
            ]
            if let ownToken { xadd += [.string("o"), .string(ownToken)] }
            cmds.append(xadd)
        }
        return cmds
    }

    /// The commands of a commit and the change-feed record of its bucket increments.
    struct Writes: Sendable {
        var cmds: RESPCommands
        var change = ChangeRecord()
        /// The deltas whose cells ``change`` holds, for ``OwnChanges`` (a commit's and its queue waits').
        var deltas: [Delta] = []
        /// Bucket hashes written, with their bucket (for their expiry), and the services written.
        var touched: [String: Int64] = [:]
        var services = Set<String>()
        /// Each service's key tag, made once per commit rather than once per cell.
        private var tags: [String: String] = [:]

        init(cmds: RESPCommands) { self.cmds = cmds }

        mutating func touch(_ key: String, _ bucket: Int64, _ service: String) {
            touched[key] = bucket
            services.insert(service)
        }

        /// The key tag of `service` (``RedisHotStore/tag(_:)``).
        mutating func tag(_ service: String, _ store: RedisHotStore) -> String {
            if let known = tags[service] { return known }
            let made = store.tag(service)
            tags[service] = made
            return made
        }

        /// The field being written: the series part (``series(_:_:_:)``), then one stat after another.
        private var field: [UInt8] = []
        private var seriesLength = 0

        /// Starts the fields of a series, `kind␟a␟b␟`.
        mutating func series(_ kind: UInt8, _ a: String, _ b: String) {
            field.removeAll(keepingCapacity: true)
            field.append(kind)
            field.append(HotFieldReader.separator)
            field.append(contentsOf: a.utf8)
            field.append(HotFieldReader.separator)
            field.append(contentsOf: b.utf8)
            field.append(HotFieldReader.separator)
            seriesLength = field.count
        }

        /// Starts the fields of a service's log levels, `l␟`.
        mutating func logSeries() {
            field.removeAll(keepingCapacity: true)
            field.append(UInt8(ascii: "l"))
            field.append(HotFieldReader.separator)
            seriesLength = field.count
        }

        /// An increment of the current series' `stat` in one bucket hash, (key, service, bucket), when it is not zero.
        mutating func count(_ cell: (String, String, Int64), _ stat: [UInt8], _ value: UInt64) {
            guard value > 0 else { return }
            field.removeSubrange(seriesLength...)
            field.append(contentsOf: stat)
            add(cell, value)
        }

        /// The sketch's zero count as `zero` and each bucket i as `bucket` followed by i in decimal.
        mutating func sketch(_ cell: (String, String, Int64), zero: [UInt8], bucket: [UInt8], _ s: LogSketch) {
            count(cell, zero, s.zeroCount)
            s.forEachBucket { index, n in
                field.removeSubrange(seriesLength...)
                field.append(contentsOf: bucket)
                Self.appendDecimal(Int64(index), to: &field)
                add(cell, n)
            }
        }

        private static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
            if value < 0 { out.append(UInt8(ascii: "-")) }
            var m = value.magnitude
            let start = out.count
            repeat {
                out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10))
                m /= 10
            } while m > 0
            out[start...].reverse()
        }

        /// Increments of the `_total` counters, which the change feed does not carry.
        mutating func totals(_ key: String, _ prefix: String, _ fields: some Sequence<(String, UInt64)>) {
            let slot = part(of: key)
            for (name, value) in fields where value > 0 {
                field.removeAll(keepingCapacity: true)
                field.append(contentsOf: prefix.utf8)
                field.append(contentsOf: name.utf8)
                HotPart.append(field: field, value: value, to: &parts[slot].bytes)
            }
        }

        private mutating func add(_ cell: (String, String, Int64), _ value: UInt64) {
            HotPart.append(field: field, value: value, to: &parts[part(of: cell.0)].bytes)
            change.add(service: cell.1, bucket: cell.2, field: field, value: value)
        }

        /// Each hash this commit writes a part to, with its bucket (nil: a service's totals).
        var partKeys: [(key: String, bucket: Int64?)] { parts.map { ($0.key, touched[$0.key]) } }

        /// This commit's part of each hash it adds to (``HotPart``), in the order first added to; all under one name.
        private(set) var parts: [(key: String, bytes: [UInt8])] = []
        let partName = HotPart.newName()
        private var partSlots: [String: Int] = [:]
        /// The key of the last cell added and its part: a cell's fields come one after another.
        private var lastPart: (key: String, slot: Int)?

        private mutating func part(of key: String) -> Int {
            if let last = lastPart, last.key == key { return last.slot }
            let slot: Int
            if let known = partSlots[key] {
                slot = known
            } else {
                slot = parts.count
                parts.append((key, []))
                partSlots[key] = slot
            }
            lastPart = (key, slot)
            return slot
        }
    }

    // MARK: - Funnels

    func funnelKey(_ funnel: String) -> String { "\(configuration.keyPrefix):funnel:\(funnel)" }

    /// `ZADD`s of the records, one sorted set per funnel scored by time, and the trim of what is past retention.
    ///
    /// The member is `step␟time␟entity`, so adding a record again (a replay, a retried flush, another collector
    /// with the same event) changes nothing.
    private func appendFunnelSteps(_ records: Set<FunnelStepRecord>, to cmds: inout RESPCommands) {
        guard !records.isEmpty else { return }
        let s = Self.sep
        var byFunnel: [String: [FunnelStepRecord]] = [:]
        for r in records { byFunnel[r.funnel, default: []].append(r) }
        let cutoffMs = clock.nowMs() - configuration.retentionSeconds * 1000
        for (funnel, list) in byFunnel {
            let key = funnelKey(funnel)
            var offset = 0
            while offset < list.count {
                let chunk = list[offset..<min(offset + 512, list.count)]
                var args: [RESPArg] = [.string("ZADD"), .string(key)]
                args.reserveCapacity(2 + 2 * chunk.count)
                for r in chunk {
                    args.append(.int(r.timestampMs))
                    args.append(.string("\(r.step)\(s)\(r.timestampMs)\(s)\(r.entity)"))
                }
                cmds.append(args)
                offset += chunk.count
            }
            cmds.append("ZREMRANGEBYSCORE", .string(key), .string("-inf"), .string("(\(cutoffMs)"))
        }
    }

    /// Parses a member written by ``appendFunnelSteps(_:to:)``.
    static func funnelRecord(_ funnel: String, member: String) -> FunnelStepRecord? {
        let parts = member.split(separator: Character(sep), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let step = Int(parts[0]), let ts = Int64(parts[1]) else { return nil }
        return FunnelStepRecord(funnel: funnel, step: step, entity: String(parts[2]), timestampMs: ts)
    }

    public func read(service: String?, buckets: ClosedRange<Int64>) async throws -> WindowData {
        guard let r = try await bucketReplies(service: service, buckets: buckets) else { return WindowData() }
        return Self.sum(r.replies, services: r.services)
    }

    /// One pipeline of an `HGETALL` per (service, bucket), as ``read(service:buckets:)`` reads them, kept apart.
    public func readEach(service: String?, buckets: ClosedRange<Int64>) async throws -> [Int64: WindowData] {
        guard let r = try await bucketReplies(service: service, buckets: buckets) else { return [:] }
        return Self.bucketContents(r.replies, services: r.services, buckets: r.buckets)
    }

    /// The `HGETALL` replies of every bucket of `service` (all services when nil), read in one pipeline, with whose
    /// each reply is; nil when there is no service. The epoch rides along, so a read notices a store that lost it
    /// (``HotEpochSignal``).
    private func bucketReplies(service: String?, buckets: ClosedRange<Int64>) async throws -> (
        replies: ArraySlice<RedisReply>, services: [String], buckets: [Int64]
    )? {
        let names: [String]
        if let service { names = [service] } else { names = try await services() }
        guard !names.isEmpty else { return nil }
        var cmds = RESPCommands()
        cmds.append("GET", .string(epochKey))
        let (order, bucketOrder) = appendBucketReads(names, buckets, to: &cmds)
        let commands = cmds
        let replies = try await wrap { try await self.client.pipeline(commands) }
        configuration.signal?.observed(epoch: replies.first?.string)
        return (replies.dropFirst(), order, bucketOrder)
    }

    /// Appends an `HGETALL` of each bucket of each service to `cmds`; returns whose each reply is, in order.
    func appendBucketReads(_ names: [String], _ buckets: some Sequence<Int64>, to cmds: inout RESPCommands) -> (
        services: [String], buckets: [Int64]
    ) {
        var order: [String] = []
        var bucketOrder: [Int64] = []
        for name in names {
            for b in buckets {
                cmds.append("HGETALL", .string(bucketKey(name, b)))
                order.append(name)
                bucketOrder.append(b)
            }
        }
        return (order, bucketOrder)
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
        return Self.sum(replies[...], services: order)
    }

    /// Adds up `HGETALL` replies; `services[i]` is the service of the i-th reply.
    static func sum(_ replies: ArraySlice<RedisReply>, services order: [String]) -> WindowData {
        var readers: [String: HotFieldReader] = [:]
        for (name, reply) in zip(order, replies) {
            guard let items = reply.array, !items.isEmpty else { continue }
            readers[name, default: HotFieldReader(service: name)].add(pairs: items)
        }
        var out = WindowData()
        for reader in readers.values { reader.finish(into: &out) }
        return out
    }

    /// Every service: on a Redis Cluster the union of the feed shards' sets (each collector adds to its own shard's).
    public func services() async throws -> [String] {
        guard client.isCluster else {
            let key = servicesKey
            let reply = try await wrap { try await self.client.command("SMEMBERS", .string(key)) }
            return (reply.array ?? []).compactMap(\.string).sorted()
        }
        var cmds = RESPCommands()
        for shard in 0..<feedShards { cmds.append("SMEMBERS", .string(servicesKey(shard: shard))) }
        let commands = cmds
        let replies = try await wrap { try await self.client.pipeline(commands) }
        return Set(replies.flatMap { ($0.array ?? []).compactMap(\.string) }).sorted()
    }

    public func funnelSteps(funnel: String, afterMs: Int64, throughMs: Int64) async throws -> [FunnelStepRecord] {
        let key = funnelKey(funnel)
        let reply = try await wrap {
            try await self.client.command(
                "ZRANGEBYSCORE", .string(key), .string("(\(afterMs)"), .int(throughMs))
        }
        var out: [FunnelStepRecord] = []
        for item in reply.array ?? [] {
            guard let member = item.string, let r = Self.funnelRecord(funnel, member: member) else {
                throw StorageError(.corrupt, "\(key) holds a member that is not step␟time␟entity")
            }
            out.append(r)
        }
        return out
    }

    public func ping() async throws {
        _ = try await wrap { try await self.client.command("PING") }
    }

    func wrap<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisError {
            throw StorageError(
                .redis, "Redis at \(client.url.host):\(client.url.port): \(error.message)", underlying: error)
        }
    }
}

extension [UInt64] {
    /// Adds `other` element by element (same length).
    fileprivate mutating func add(_ other: [UInt64]) {
        for i in indices { self[i] &+= other[i] }
    }
}
