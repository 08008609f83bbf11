import Collector
import Foundation
import Logging
import OpsightMetrics
import QueryModel
import Testing

@testable import Storage

/// Issue 16: on a Redis Cluster the change feed is split into ``RedisHotStore/feedShardCount`` shards spread over the
/// slot space, each collector writing its own; a reader follows all of them.
extension RedisClusterClientTests {
    /// (a) Three collectors' flushes land in feed shards of at least two masters, each shard's keys in its 1/16 of
    /// the slot space; (b) a window cache following the sharded feed while three collectors flush at once ends equal
    /// to a full read and to the sum of what was committed, without a gap.
    @Test func theShardedChangeFeedSpreadsOverMastersAndSumsExactly() async throws {
        let cluster = try RedisClusterFixture()
        defer { cluster.stop() }
        try await cluster.start()
        let prefix = "feed_\(E2EEnvironment.randomID(6))"
        let collectors = ["collector-a", "collector-b", "collector-c"]
        let clients = (0..<4).map { _ in (try? RedisURL(cluster.url)).map { RedisClient(url: $0) } }.compactMap { $0 }
        defer { for c in clients { c.shutdown() } }
        let stores = clients.map { RedisHotStore(client: $0, configuration: .init(keyPrefix: prefix)) }
        let reader = stores[3]
        let now = Int64(Date().timeIntervalSince1970 * 1000)

        // Every shard's tag lands in its sixteenth of the slots, as Redis computes it.
        for shard in 0..<RedisHotStore.feedShardCount {
            let key = reader.feedKey(shard: shard)
            let slot = Int(try await cluster.cli(cluster.ports[0], ["CLUSTER", "KEYSLOT", key])) ?? -1
            #expect(slot / 1024 == shard, "\(key) is in slot \(slot)")
        }
        // Position keys carry no hash tag: each collector's is in a slot of its own.
        #expect(Set(collectors.map { RedisKeySlot.slot(reader.positionKey($0)) }).count == collectors.count)

        let cache = WindowCache(
            configuration: .init(windowsMs: [3_600_000]), feed: reader, logger: Logger(label: "test"), now: { now })
        _ = try await cache.window(windowMs: 3_600_000)
        let shadow = InMemoryMetricsStore(bucketWidthMs: TimeBucket.hotWidthMs)
        let following = Task {
            var polls = 0
            while !Task.isCancelled {
                _ = try? await cache.window(windowMs: 3_600_000)
                polls += 1
                try? await Task.sleep(for: .milliseconds(5))
            }
            return polls
        }
        // Bucket reads taken while the writers flush, each with its cursor: the buckets must be the state after the
        // cursor's entries in every shard (the in-flight sets and counts of all shards), which the end checks.
        let span =
            TimeBucket.index(
                ofMs: now - 1_200_000, widthMs: TimeBucket.hotWidthMs)...TimeBucket.index(
                ofMs: now, widthMs: TimeBucket.hotWidthMs)
        let snapshotting = Task {
            var taken: [FeedPoll] = []
            while !Task.isCancelled && taken.count < 40 {
                if let p = try? await reader.poll(after: nil, buckets: Array(span)) { taken.append(p) }
                try? await Task.sleep(for: .milliseconds(2))
            }
            return taken
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, collector) in collectors.enumerated() {
                let store = stores[index]
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(31 + index))
                    for position in 1...20 {
                        let events = (0..<60).map { i -> Event in
                            var e = Event(
                                timestampMs: now - Int64.random(in: 0..<1_200_000, using: &rng),
                                service: ["api", "worker", "web", "billing"].randomElement(using: &rng)!,
                                kind: .request)
                            e.route = ["/a", "/b"].randomElement(using: &rng)!
                            e.method = "GET"
                            e.status = [200, 500].randomElement(using: &rng)!
                            e.durationMs = Double((i * 37 + position) % 900)
                            return e
                        }
                        let delta = BatchAggregate(events: events, rules: .init()).hot
                        try await store.commit(delta, position: UInt64(position), collector: collector)
                        try await shadow.commit(delta, position: UInt64(position), collector: collector)
                        // Flushes 200 ms apart in a collector; closer here, with quiet moments for bucket reads.
                        try await Task.sleep(for: .milliseconds(Int.random(in: 40...160, using: &rng)))
                    }
                }
            }
            try await group.waitForAll()
        }
        following.cancel()
        snapshotting.cancel()
        let polls = await following.value
        let snapshots = await snapshotting.value

        // (a) Which masters hold a feed that was written, from the cluster's own map.
        let masters = try await cluster.nodes().filter { $0.isMaster && !$0.slots.isEmpty }
        var writtenOn: Set<Int> = []
        for shard in 0..<RedisHotStore.feedShardCount {
            let key = reader.changeCountKey(shard: shard)
            let slot = RedisKeySlot.slot(key)
            guard let master = masters.first(where: { $0.slots.contains { $0.contains(slot) } }) else { continue }
            let count = Int(try await cluster.cli(master.port, ["GET", key])) ?? 0
            if count > 0 { writtenOn.insert(master.port) }
        }
        let shards = Set(collectors.map { reader.feedShard(of: $0) })
        print("e2e[cluster]: feed shards \(shards.sorted()) written on \(writtenOn.count) masters; \(polls) polls")
        #expect(writtenOn.count >= 2, "the feed writes of three collectors all went to one master")

        // (b) Exact: the cache, a full read and the oracle agree, and the cache followed the feed without a gap.
        let cached = try #require(try await cache.window(windowMs: 3_600_000))
        let k = TimeBucket.index(ofMs: cached.timeMs, widthMs: TimeBucket.hotWidthMs)
        let range = (k - 360 + 1)...k
        let full = try await reader.read(service: nil, buckets: range)
        let oracle = try await shadow.read(service: nil, buckets: range)
        #expect(cached.data == full, "the cache differs from a full read")
        #expect(full == oracle, "the store differs from what was committed")
        #expect(full.requests.values.reduce(0) { $0 + $1.count } == 3 * 20 * 60)
        // Each bucket read taken during the flushes, plus the feed's changes after its cursor, is the final state.
        let whole = try await reader.read(service: nil, buckets: span)
        let moving = Set(snapshots.map(\.cursor.sequence)).count
        print("e2e[cluster]: \(snapshots.count) bucket reads during the flushes, at \(moving) feed positions")
        #expect(!snapshots.isEmpty, "too few bucket reads succeeded while the writers flushed")
        for (index, snapshot) in snapshots.enumerated() {
            let rest = try await reader.poll(after: snapshot.cursor, buckets: [])
            #expect(!rest.gap, "bucket read \(index): a gap after its cursor")
            var sum = WindowData()
            for (_, data) in snapshot.buckets { sum.merge(data) }
            for change in rest.changes {
                for (bucket, data) in change.byBucket where span.contains(bucket) { sum.merge(data) }
            }
            #expect(
                sum == whole, "bucket read \(index) at \(snapshot.cursor.sequence) is not the state after its entries")
        }
        let rebuilds = await cache.rebuilds
        #expect(rebuilds == 1, "the cache read everything again \(rebuilds - 1) times")
    }
}
