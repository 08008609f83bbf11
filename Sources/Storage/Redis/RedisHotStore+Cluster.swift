import Collector
import Foundation

/// The hot store on a Redis Cluster, where one flush touches many slots and no `MULTI` can span them.
///
/// Exactly once: a flush is journaled and applied one `MULTI` per slot (``RedisClient/transactionPerSlot(_:journal:)``);
/// the position key is one of those slots, and a collector that starts again (or retries after a failure) finishes a
/// journaled flush before reading its position.
///
/// Consistent polls: the change feed is split into ``feedShardCount`` shards (``feedTags``), each collector writing
/// its own; the collector's shard slot is the last one its flush writes, and the shard's `P:{changes-<n>}:inflight`
/// holds (scored by start time) the collectors whose flush is under way. A poll that reads buckets reads every
/// shard's count and in-flight set before and after them and keeps the buckets only when nothing was in flight in
/// any shard and no count moved; then the buckets are exactly the state after every shard's last entry, as on a
/// single server.
extension RedisHotStore {
    /// Members of the in-flight set older than this are a collector that died mid-flush; polls ignore them.
    static let inflightStaleMs: Int64 = 30_000
    /// How often a poll tries for a quiet moment before giving up until the next one.
    static let pollAttempts = 40

    /// The in-flight set of feed shard `shard`.
    func inflightKey(shard: Int) -> String { "\(feedKey(shard: shard)):inflight" }
    /// The in-flight set of the feed shard `collector` writes.
    func inflightKey(of collector: String) -> String { inflightKey(shard: feedShard(of: collector)) }
    /// The fence (epoch copy) of feed shard `shard`'s slot.
    func changesFenceKey(shard: Int) -> String {
        fenceKey(RedisKeySlot.tag(for: RedisKeySlot.slot(feedKey(shard: shard))))
    }
    func journalKey(_ collector: String) -> String { "\(positionKey(collector)):journal" }

    func journal(_ collector: String, sequence: UInt64) -> RedisSlotJournal {
        let prefix = keyPrefix
        return RedisSlotJournal(key: journalKey(collector), sequence: sequence) { tag in
            "\(prefix):{\(tag)}:once:\(collector)"
        }
    }

    /// The cluster form of a commit's last step: `cmds` is the whole flush, ending with the position.
    func commitAcrossSlots(_ cmds: inout RESPCommands, position: UInt64, collector: String) async throws {
        let inflight = inflightKey(of: collector)
        cmds.append("ZREM", .string(inflight), .string(collector))
        let commands = cmds
        let journal = journal(collector, sequence: position)
        let now = clock.nowMs()
        _ = try await wrap { try await self.client.command("ZADD", .string(inflight), .int(now), .string(collector)) }
        try await wrap { try await self.client.transactionPerSlot(commands, journal: journal) }
    }

    /// A commit on a cluster, where no `WATCH` spans the slots of the jobs it pairs: their facts are read, then the
    /// flush goes slot by slot. Two collectors bringing facts of one job within the same few milliseconds may each
    /// pair without the other's (docs/scaling.md). A guarded commit (`expecting` set) runs each slot's part only
    /// where that slot holds the epoch and this collector's marker is not behind (``guardedCommitAcrossSlots``).
    func commitOnCluster(_ plan: CommitPlan) async throws -> GuardedCommit {
        var w = plan.base
        let keys = Array(plan.jobKeys)
        if !keys.isEmpty {
            var reads = RESPCommands()
            for (_, key) in keys { reads.append("HGETALL", .string(key)) }
            let commands = reads
            let replies = try await wrap { try await self.client.pipeline(commands) }
            pair(plan.facts, keys: keys, hashes: replies[...], into: &w)
        }
        var cmds = finish(w, funnelSteps: plan.funnelSteps, changeFeed: true, shard: feedShard(of: plan.collector))
        cmds.append("SET", .string(positionKey(plan.collector)), .string(String(plan.position)))
        if let expecting = plan.expecting {
            return try await guardedCommitAcrossSlots(
                &cmds, position: plan.position, collector: plan.collector, expecting: expecting)
        }
        try await commitAcrossSlots(&cmds, position: plan.position, collector: plan.collector)
        return .committed
    }

    /// The epoch's copy in the slot of hash tag `tag`: every slot has one, so that a slot's part of a commit can check
    /// the epoch in that slot, in the same step as its writes.
    func fenceKey(_ tag: String) -> String { "\(keyPrefix):{\(tag)}:epoch" }

    /// ``fenceKey(_:)`` as a closure that does not hold the store.
    var fence: @Sendable (String) -> String {
        let prefix = keyPrefix
        return { tag in "\(prefix):{\(tag)}:epoch" }
    }

    /// The guarded form of ``commitAcrossSlots(_:position:collector:)``: each slot's part runs only when that slot's
    /// epoch copy is `expecting`'s epoch and this collector's marker there is at least the position it last committed
    /// in that slot (a replica promoted without the last writes has it lower). A slot that refuses makes the commit
    /// `.lost`; the parts that ran elsewhere are cleared by the rebuild that follows.
    func guardedCommitAcrossSlots(
        _ cmds: inout RESPCommands, position: UInt64, collector: String, expecting: HotExpectation
    ) async throws -> GuardedCommit {
        tracker.begin(epoch: expecting.epoch)
        guard let epoch = expecting.epoch else { return .lost("this collector knows no epoch of the store yet") }
        let inflight = inflightKey(of: collector)
        cmds.append("ZREM", .string(inflight), .string(collector))
        let commands = cmds
        let minimums = tracker.minimums(nowMs: clock.nowMs())
        let guarding = RedisSlotGuard(
            fence: fence, expected: epoch, marker: journal(collector, sequence: position).marker,
            minimum: { minimums[$0] ?? 0 }, sequence: position)
        let journalKey = journalKey(collector)
        let now = clock.nowMs()
        _ = try await wrap { try await self.client.command("ZADD", .string(inflight), .int(now), .string(collector)) }
        let verdicts = try await wrap {
            try await self.client.guardedPerSlot(commands, guard: guarding, journal: journalKey)
        }
        let refused = verdicts.filter { !$0.value.isIn && $0.value != .skipped }.sorted { $0.key < $1.key }
        guard let (slot, verdict) = refused.first else {
            tracker.committed(verdicts.keys, position: position, epoch: epoch, atMs: now)
            return .committed
        }
        // The change feed's part did not run, nor its removal of this flush from the in-flight set.
        _ = try? await wrap { try await self.client.command("ZREM", .string(inflight), .string(collector)) }
        let reason = Self.describe(verdict, slot: slot, epoch: epoch, minimum: minimums[slot] ?? 0)
        // Remembered for the recovery's next look: a slot behind, or a fence that is neither this epoch nor its
        // rebuild's, is a loss; a fence still at the rebuild's value is a rebuild finishing — or a flip a failover
        // took back, which the look tells apart once the rebuild's lock is gone.
        let finishing = refused.filter { $0.value == .fenced(Self.building(epoch)) }.map(\.key)
        tracker.fencedByRebuild(finishing, epoch: epoch)
        if let (lostSlot, lostVerdict) = refused.first(where: { $0.value != .fenced(Self.building(epoch)) }) {
            tracker.found(
                Self.describe(lostVerdict, slot: lostSlot, epoch: epoch, minimum: minimums[lostSlot] ?? 0), epoch: epoch)
        }
        return .lost(reason + (refused.count > 1 ? " (and \(refused.count - 1) more slots)" : ""))
    }

    /// Why a slot refused a guarded part, in words.
    static func describe(_ verdict: RedisSlotVerdict, slot: Int, epoch: String, minimum: UInt64) -> String {
        switch verdict {
        case .fenced(let held): "slot \(slot) holds epoch \(held ?? "none"), not \(epoch)"
        case .behind(let held):
            "slot \(slot) holds position \(held) for this collector, which committed \(minimum) there (a failover lost writes)"
        default: "slot \(slot): \(verdict)"
        }
    }

    /// Finishes the flush this collector left halfway, if any, and clears its in-flight mark. A guarded flush's
    /// parts check their slot themselves: one left from before a rebuild runs nowhere, and a slot found behind is a
    /// loss, reported by ``epochState(collector:)``.
    func finishInterruptedCommit(collector: String) async throws {
        let journal = journal(collector, sequence: 0)
        let inflight = inflightKey(of: collector)
        let tracker = tracker
        try await wrap {
            try await self.client.finishJournal(key: journal.key, marker: journal.marker) { slot, verdict in
                guard case .behind(let held) = verdict else { return }
                tracker.found(
                    "slot \(slot) holds position \(held) for this collector, behind its unfinished flush", epoch: nil)
            }
            _ = try await self.client.command("ZREM", .string(inflight), .string(collector))
        }
    }

    /// ``poll(after:buckets:)`` on a cluster: see the type's comment. Every feed shard is read in one transaction
    /// of its own (all sent at once): its count, its entries after the cursor's position there, its in-flight
    /// flushes and its fence; after the bucket reads, counts and in-flight sets again. The buckets are kept when no
    /// shard had a flush in flight and no count moved: then every flush that reached any shard's feed had landed
    /// whole before the buckets were read, and none landed during — the single-shard argument, shard by shard. The
    /// shards' fences must agree (a rebuild's flip under way otherwise): that is the epoch.
    func pollAcrossSlots(after cursor: FeedCursor?, buckets: [Int64]) async throws -> FeedPoll {
        let shards = feedShards
        let positions = cursor.flatMap { ShardPositions(decoding: $0.id, shards: shards) }
        for attempt in 0..<Self.pollAttempts {
            let stale = clock.nowMs() - Self.inflightStaleMs
            var head = RESPCommands()
            for shard in 0..<shards {
                let feed = feedKey(shard: shard)
                head.append("GET", .string(changeCountKey(shard: shard)))
                if let positions {
                    head.append("XRANGE", .string(feed), .string("(" + positions.ids[shard]), .string("+"))
                } else {
                    head.append("XREVRANGE", .string(feed), .string("+"), .string("-"), .string("COUNT"), .int(1))
                }
                head.append("ZCOUNT", .string(inflightKey(shard: shard)), .int(stale), .string("+inf"))
                // The epoch as the shard's slot holds it (its fence), read with the feed: a rebuild shows as a gap.
                head.append("GET", .string(changesFenceKey(shard: shard)))
            }
            let before = head
            let first = try await wrap { try await self.client.transactionsPerSlotAtOnce(before) }
            let fences = Set((0..<shards).map { first[4 * $0 + 3].string })
            let quiet = (0..<shards).allSatisfy { first[4 * $0 + 2].int == 0 }
            guard fences.count == 1 else {
                try await Task.sleep(for: .milliseconds(10 + 5 * attempt))
                continue
            }
            let epoch = fences.first!
            configuration.signal?.observed(epoch: epoch)
            let counts = (0..<shards).map { first[4 * $0] }
            let entries = (0..<shards).map { first[4 * $0 + 1] }
            guard !buckets.isEmpty else {
                return try makeShardedPoll(
                    after: cursor, positions: positions, counts: counts, entries: entries, buckets: [], services: [],
                    bucketOrder: [], epoch: epoch)
            }
            var names: [String] = []
            if quiet { names = try await services() }
            var reads = RESPCommands()
            var order: [String] = []
            var bucketOrder: [Int64] = []
            for name in names {
                for b in buckets {
                    reads.append("HGETALL", .string(bucketKey(name, b)))
                    order.append(name)
                    bucketOrder.append(b)
                }
            }
            let contents = reads
            var replies: [RedisReply] = []
            if !names.isEmpty { replies = try await wrap { try await self.client.pipeline(contents) } }
            var tail = RESPCommands()
            for shard in 0..<shards {
                tail.append("GET", .string(changeCountKey(shard: shard)))
                tail.append("ZCOUNT", .string(inflightKey(shard: shard)), .int(stale), .string("+inf"))
            }
            let after = tail
            let second = try await wrap { try await self.client.transactionsPerSlotAtOnce(after) }
            let still = (0..<shards).allSatisfy { second[2 * $0 + 1].int == 0 && second[2 * $0] == counts[$0] }
            if quiet && still {
                return try makeShardedPoll(
                    after: cursor, positions: positions, counts: counts, entries: entries, buckets: replies[...],
                    services: order, bucketOrder: bucketOrder, epoch: epoch)
            }
            try await Task.sleep(for: .milliseconds(10 + 5 * attempt))
        }
        throw StorageError(
            .redis,
            "the change feed's \(shards) shards never stood still together while buckets were read "
                + "(\(Self.pollAttempts) tries): flushes are back to back, or a rebuild's flip of the fences lasted; "
                + "the window cache tries again at its next poll")
    }

    /// ``makePoll(after:count:entries:buckets:services:bucketOrder:epoch:)`` over the feed shards: the entries of
    /// every shard (in shard order; change records are sums, their order does not matter), a gap when any shard's
    /// count moved by other than its entries, the cursor of another layout or another epoch.
    func makeShardedPoll(
        after cursor: FeedCursor?, positions: ShardPositions?, counts: [RedisReply], entries: [RedisReply],
        buckets replies: ArraySlice<RedisReply>, services order: [String], bucketOrder: [Int64], epoch: String?
    ) throws -> FeedPoll {
        var next = ShardPositions(counts: [], ids: [])
        var changes: [FeedChange] = []
        var gap = cursor != nil && (positions == nil || cursor?.epoch != epoch)
        for shard in counts.indices {
            let count = counts[shard].int.map { UInt64(max(0, $0)) } ?? 0
            let list = entries[shard].array ?? []
            let lastID =
                try Self.changeRecords(list, of: feedKey(shard: shard), keep: cursor != nil, into: &changes)
                ?? positions?.ids[shard] ?? "0-0"
            if let positions {
                let before = positions.counts[shard]
                if count < before || count - before != UInt64(list.count) { gap = true }
            }
            next.counts.append(count)
            next.ids.append(lastID)
        }
        return FeedPoll(
            cursor: FeedCursor(sequence: next.counts.reduce(0, +), id: next.encoded, epoch: epoch), changes: changes,
            gap: gap, buckets: Self.bucketContents(replies, services: order, buckets: bucketOrder))
    }
}
