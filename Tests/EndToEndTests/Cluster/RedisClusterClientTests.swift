import Foundation
import Storage
import Testing

/// The Redis client against a real three-master, three-replica Redis Cluster that each test starts.
@Suite(.serialized, .enabled(if: ClusterEnvironment.enabled, ClusterEnvironment.skipReason))
struct RedisClusterClientTests {
    /// Our slot of many keys, hash tags of every shape included, is the slot Redis itself gives (`CLUSTER KEYSLOT`).
    @Test func keySlotsAreTheOnesRedisComputes() async throws {
        let cluster = try RedisClusterFixture()
        defer { cluster.stop() }
        try await cluster.start()
        let client = RedisClient(url: try RedisURL(cluster.url))
        defer { client.shutdown() }

        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ab{}{}:x\u{1f}é0".utf8)
        var keys: [[UInt8]] = ["", "{", "}", "{}", "{}x", "x{}", "{a}", "a{b}c", "a{b}{c}", "a{{b}}", "{{}}", "a}b{c}"]
            .map { Array($0.utf8) }
        keys += ["opsight:{checkout}:h:123", "opsight:services", "opsight:{changes}:count", "123456789"]
            .map { Array($0.utf8) }
        for _ in 0..<3000 {
            keys.append((0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
        }
        for _ in 0..<500 {
            keys.append((0..<Int.random(in: 1...40, using: &rng)).map { _ in UInt8.random(in: 0...255) })
        }
        var commands = RESPCommands()
        for key in keys { commands.append("CLUSTER", "KEYSLOT", .bytes(key)) }
        let replies = try await client.pipeline(commands)

        #expect(RedisKeySlot.slot("123456789") == 0x31C3 & 0x3FFF)  // the cluster spec's CRC16 check value
        var mismatches: [String] = []
        for (key, reply) in zip(keys, replies) where reply.int != Int64(RedisKeySlot.slot(key)) {
            mismatches.append("\(key): redis \(reply), ours \(RedisKeySlot.slot(key))")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(keys.count) differ, e.g. \(mismatches.prefix(5))")
        for slot in [0, 1, 5_000, 16_383] {
            #expect(RedisKeySlot.slot("x{\(RedisKeySlot.tag(for: slot))}y") == slot)
        }
    }

    /// Pipelines and per-slot transactions over keys of every shard give what a local tally says, each key on the
    /// one master that owns its slot, and survive a failover, which the client reports.
    @Test func routesBySlotAndFollowsAFailover() async throws {
        let cluster = try RedisClusterFixture()
        defer { cluster.stop() }
        try await cluster.start()
        let client = RedisClient(url: try RedisURL(cluster.url))
        defer { client.shutdown() }
        let changes = Changes()
        client.onTopologyChange { changes.append($0) }

        var tally: [String: Int64] = [:]
        func round(_ n: Int) async throws {
            var pipelined = RESPCommands()
            var transacted = RESPCommands()
            for i in 0..<600 {
                let key = "k\(i % 300):\(i % 7 == 0 ? "{tag\(i % 5)}" : "")"
                let by = Int64(i + n)
                if i % 2 == 0 { pipelined.incrby(key, by: by) } else { transacted.incrby(key, by: by) }
                tally[key, default: 0] += by
            }
            _ = try await client.pipeline(pipelined)
            _ = try await client.transactionPerSlot(transacted)
        }
        try await round(1)
        let keys = tally.keys.sorted()
        func check(_ label: String) async throws {
            var reads = RESPCommands()
            for key in keys { reads.get(key) }
            let values = try await client.pipeline(reads)
            let wrong = zip(keys, values).filter { tally[$0.0] != $0.1.int }
            #expect(wrong.isEmpty, "\(label): \(wrong.count) keys differ from the tally, e.g. \(wrong.prefix(3))")
        }
        try await check("before the failover")
        var sizes = 0
        for node in try await cluster.nodes() where node.isMaster {
            sizes += Int(try await cluster.cli(node.port, ["DBSIZE"])) ?? -1
        }
        #expect(sizes == keys.count, "each key on exactly one master")

        let (master, replica) = try await cluster.shard(ofSlot: RedisKeySlot.slot(keys[0]))
        _ = try await cluster.cli(replica, ["CLUSTER", "FAILOVER"])
        try await eventually("the replica on \(replica) is a master", timeout: .seconds(30)) {
            let promoted = try await cluster.nodes().contains { $0.port == replica && $0.isMaster && !$0.slots.isEmpty }
            return (promoted, "not yet")
        }
        try await round(2)
        try await check("after the failover")
        let seen = changes.all
        #expect(seen.last?.previousMasters.contains(RedisNode(host: "127.0.0.1", port: master)) == true, "\(seen)")
        #expect(seen.last?.newMasters.contains(RedisNode(host: "127.0.0.1", port: replica)) == true, "\(seen)")
        #expect(try await client.shardTags().count == 3)
    }

    /// While a slot migrates (`CLUSTER SETSLOT … MIGRATING/IMPORTING`, `MIGRATE`), keys already moved answer `ASK`:
    /// commands and per-slot transactions follow it with `ASKING` to the importing master; once the slot is given to
    /// it (`SETSLOT … NODE`), `MOVED` updates the map and the client reports the change.
    @Test func followsAskDuringASlotMigrationAndMovedAfterIt() async throws {
        let cluster = try RedisClusterFixture()
        defer { cluster.stop() }
        try await cluster.start()
        let client = RedisClient(url: try RedisURL(cluster.url))
        defer { client.shutdown() }
        let changes = Changes()
        client.onTopologyChange { changes.append($0) }
        let moved = "ask:{m}:moved"
        let slot = RedisKeySlot.slot(moved)
        _ = try await client.command("SET", .string(moved), .string("v1"))

        let nodes = try await cluster.nodes()
        let source = try #require(nodes.first { $0.isMaster && $0.slots.contains { $0.contains(slot) } })
        let target = try #require(nodes.first { $0.isMaster && !$0.slots.isEmpty && $0.id != source.id })
        _ = try await cluster.cli(target.port, ["CLUSTER", "SETSLOT", String(slot), "IMPORTING", source.id])
        _ = try await cluster.cli(source.port, ["CLUSTER", "SETSLOT", String(slot), "MIGRATING", target.id])
        let migrate = try await cluster.cli(
            source.port, ["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", moved])
        #expect(migrate == "OK")

        #expect(try await client.command("GET", .string(moved)).string == "v1", "ASK to the importing master")
        #expect(try await client.command("SET", .string("ask:{m}:new"), .string("v2")) == .status("OK"))
        // A transaction of one key (with several, Redis answers TRYAGAIN until the migration ends).
        var writes = RESPCommands()
        writes.incrby("ask:{m}:counter", by: 5)
        #expect(try await client.transactionPerSlot(writes) == [.integer(5)])
        #expect(try await cluster.cli(target.port, ["CLUSTER", "COUNTKEYSINSLOT", String(slot)]) == "3")
        #expect(try await cluster.cli(source.port, ["CLUSTER", "COUNTKEYSINSLOT", String(slot)]) == "0")
        #expect(changes.all.isEmpty, "an ASK does not change the map")

        for node in try await cluster.nodes() where node.isMaster {
            _ = try await cluster.cli(node.port, ["CLUSTER", "SETSLOT", String(slot), "NODE", target.id])
        }
        var reads = RESPCommands()
        for key in [moved, "ask:{m}:new", "ask:{m}:counter"] { reads.get(key) }
        #expect(try await client.pipeline(reads).map(\.string) == ["v1", "v2", "5"])
        try await eventually("the client reports the slot's new master", timeout: .seconds(10)) {
            _ = try await client.command("GET", .string(moved))
            let seen = changes.all
            let done = seen.contains {
                $0.newMasters.contains(RedisNode(host: "127.0.0.1", port: target.port))
                    && $0.previousMasters.contains(RedisNode(host: "127.0.0.1", port: source.port))
            }
            return (done, "\(seen)")
        }
    }

    /// A journaled multi-slot transaction cut off halfway (one master frozen past the socket timeout) is applied
    /// exactly once in every slot by `finishJournal`, whether or not the frozen master ran its part later.
    @Test func aJournaledTransactionCutOffHalfwayLandsOnceInEverySlot() async throws {
        let cluster = try RedisClusterFixture()
        defer { cluster.stop() }
        try await cluster.start()
        let client = RedisClient(url: try RedisURL(cluster.url), timeout: .seconds(1))
        defer { client.shutdown() }
        let prefix = "j\(E2EEnvironment.randomID(4))"
        let keys = (0..<60).map { "\(prefix):{t\($0)}" }
        var commands = RESPCommands()
        for key in keys { commands.incrby(key, by: 7) }
        let journal = RedisSlotJournal(key: "\(prefix):journal", sequence: 42) { tag in "\(prefix):{\(tag)}:once" }

        // The slots run in the order of their last command: freeze the master of a key in the middle.
        let (frozen, _) = try await cluster.shard(ofSlot: RedisKeySlot.slot(keys[30]))
        cluster.pause(frozen)
        await #expect(throws: (any Error).self) { try await client.transactionPerSlot(commands, journal: journal) }
        cluster.resume(frozen)
        try await cluster.waitUntilHealthy(replicas: 3)

        #expect(try await client.finishJournal(key: journal.key, marker: journal.marker))
        #expect(try await client.finishJournal(key: journal.key, marker: journal.marker) == false)
        var reads = RESPCommands()
        for key in keys { reads.get(key) }
        let values = try await client.pipeline(reads).map(\.int)
        #expect(values == Array(repeating: 7, count: keys.count))
    }

    /// A guarded batch runs a slot's part only where that slot's fence holds the expected value and the writer's marker
    /// is not behind: a second run is held (nothing twice), a slot whose marker went back (a failover that lost writes)
    /// refuses and takes nothing, and a journal cut off halfway and left from before the fences moved (a rebuilt store)
    /// runs nowhere when finished.
    @Test func aGuardedBatchRunsOnlyWhereItsFenceAndMarkerHold() async throws {
        let cluster = try RedisClusterFixture()
        defer { cluster.stop() }
        try await cluster.start()
        let client = RedisClient(url: try RedisURL(cluster.url), timeout: .seconds(1))
        defer { client.shutdown() }
        let prefix = "g\(E2EEnvironment.randomID(4))"
        let keys = (0..<40).map { "\(prefix):{t\($0)}:n" }
        let slots = keys.map { RedisKeySlot.slot($0) }
        let fence: @Sendable (String) -> String = { tag in "\(prefix):{\(tag)}:epoch" }
        let marker: @Sendable (String) -> String = { tag in "\(prefix):{\(tag)}:once" }
        func fenceAll(_ value: String) async throws {
            var cmds = RESPCommands()
            for slot in Set(slots) { cmds.set(fence(RedisKeySlot.tag(for: slot)), value) }
            _ = try await client.pipeline(cmds)
        }
        func values() async throws -> [Int64] {
            var reads = RESPCommands()
            for key in keys { reads.get(key) }
            return try await client.pipeline(reads).map { $0.int ?? 0 }
        }
        func batch(_ by: Int64) -> RESPCommands {
            var cmds = RESPCommands()
            for key in keys { cmds.incrby(key, by: by) }
            return cmds
        }
        func guarding(_ epoch: String, _ sequence: UInt64, minimum: UInt64 = 0) -> RedisSlotGuard {
            RedisSlotGuard(fence: fence, expected: epoch, marker: marker, minimum: { _ in minimum }, sequence: sequence)
        }

        // No fence yet: nothing runs anywhere.
        var verdicts = try await client.guardedPerSlot(batch(3), guard: guarding("e1", 10), journal: nil)
        #expect(verdicts.count == Set(slots).count && verdicts.values.allSatisfy { !$0.isIn }, "\(verdicts)")
        #expect(try await values() == Array(repeating: 0, count: keys.count))

        try await fenceAll("e1")
        verdicts = try await client.guardedPerSlot(batch(3), guard: guarding("e1", 10), journal: nil)
        #expect(verdicts.values.allSatisfy { $0 == .applied }, "\(verdicts)")
        verdicts = try await client.guardedPerSlot(batch(3), guard: guarding("e1", 10), journal: nil)
        #expect(verdicts.values.allSatisfy { $0 == .held }, "the same sequence again: \(verdicts)")
        #expect(try await values() == Array(repeating: 3, count: keys.count))

        // A slot whose marker went back below what the writer committed there (as after a failover) refuses.
        let lostSlot = slots[7]
        _ = try await client.command("SET", .string(marker(RedisKeySlot.tag(for: lostSlot))), "4")
        verdicts = try await client.guardedPerSlot(batch(1), guard: guarding("e1", 11, minimum: 10), journal: nil)
        #expect(verdicts[lostSlot] == .behind(4), "\(verdicts)")
        #expect(try await values()[7] == 3, "the slot that lost writes took nothing")

        // A journaled batch cut off halfway (one master frozen past the socket timeout), then the fences move on.
        try await fenceAll("e2")
        let start = try await values()
        let journal = "\(prefix):journal"
        let (frozen, _) = try await cluster.shard(ofSlot: slots[20])
        cluster.pause(frozen)
        await #expect(throws: (any Error).self) {
            try await client.guardedPerSlot(batch(100), guard: guarding("e2", 20), journal: journal)
        }
        cluster.resume(frozen)
        try await cluster.waitUntilHealthy(replicas: 3)
        try await fenceAll("e3")
        let cut = try await values()
        #expect(zip(start, cut).allSatisfy { $1 == $0 || $1 == $0 + 100 }, "\(start) → \(cut)")
        let refusals = Refusals()
        #expect(try await client.finishJournal(key: journal, marker: marker) { _, v in refusals.add(v) })
        #expect(try await values() == cut, "a journal from before the fences moved runs nowhere")
        #expect(!refusals.all.isEmpty && refusals.all.allSatisfy { $0 == .fenced("e3") }, "\(refusals.all)")
    }

    final class Refusals: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [RedisSlotVerdict] = []
        func add(_ v: RedisSlotVerdict) { lock.withLock { list.append(v) } }
        var all: [RedisSlotVerdict] { lock.withLock { list } }
    }

    final class Changes: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [RedisTopologyChange] = []
        func append(_ c: RedisTopologyChange) { lock.withLock { list.append(c) } }
        var all: [RedisTopologyChange] { lock.withLock { list } }
    }
}
