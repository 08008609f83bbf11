import Collector

/// The funnel step log (``FunnelStepFeed``): `P:changes:funnels`, a stream with one entry per commit that brought
/// funnel step records (all of them, in one field), and `P:changes:funnels:count`, how many entries it ever had.
///
/// Both are written in the commit's `MULTI`, beside the records' `ZADD`s. On a Redis Cluster they are
/// `P:{changes-<n>}:funnels…`, in the committing collector's feed shard, which its flush writes last: an entry a
/// reader sees has its records in the sorted sets already; a reader polls every shard (``pollFunnelShards``).
extension RedisHotStore: FunnelStepFeed {
    var funnelLogKey: String { funnelLogKey(shard: 0) }
    var funnelLogCountKey: String { funnelLogCountKey(shard: 0) }
    func funnelLogKey(shard: Int) -> String { "\(feedKey(shard: shard)):funnels" }
    func funnelLogCountKey(shard: Int) -> String { "\(funnelLogKey(shard: shard)):count" }

    /// The `INCR` and `XADD` of a commit's records, in feed shard `shard` (the committing collector's).
    func appendFunnelLog(_ records: Set<FunnelStepRecord>, shard: Int, to cmds: inout RESPCommands) {
        guard !records.isEmpty else { return }
        cmds.append("INCR", .string(funnelLogCountKey(shard: shard)))
        cmds.append(
            "XADD", .string(funnelLogKey(shard: shard)), .string("MAXLEN"), .string("~"),
            .int(configuration.funnelLogLength), .string("*"), .string("r"), .bytes(FunnelStepLogEntry.encode(records)))
    }

    /// One `MULTI … EXEC`: the count (then `INCRBY 0`, so that a store that lost it is told from one that never had
    /// it), the entries after the cursor (every entry without one) and the epoch (on a cluster, the slot's copy of it).
    ///
    /// A gap is a count that vanished, shrank or grew by more than the entries returned (trimmed, or a reset store
    /// that got new entries), or another epoch (a rebuilt store).
    public func pollFunnelSteps(after cursor: FeedCursor?) async throws -> FunnelStepPoll {
        if client.isCluster { return try await pollFunnelShards(after: cursor) }
        var cmds = RESPCommands()
        cmds.append("GET", .string(funnelLogCountKey))
        cmds.append("INCRBY", .string(funnelLogCountKey), .int(0))
        if let cursor {
            cmds.append("XRANGE", .string(funnelLogKey), .string("(" + cursor.id), .string("+"))
        } else {
            cmds.append("XRANGE", .string(funnelLogKey), .string("-"), .string("+"))
        }
        cmds.append("GET", .string(epochKey))
        let commands = cmds
        let replies = try await wrap { try await self.client.transaction(commands) }
        guard replies.count == 4 else {
            throw StorageError(.corrupt, "funnel log poll: \(replies.count) replies to 4 commands")
        }
        let epoch = replies[3].string
        if !client.isCluster { configuration.signal?.observed(epoch: epoch) }
        let count = replies[0].int.map { UInt64(max(0, $0)) }
        let entries = replies[2].array ?? []
        var lastID = cursor?.id ?? "0-0"
        var records: [FunnelStepRecord] = []
        for entry in entries {
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array,
                fields.count >= 2, let blob = fields[1].bytes
            else { throw StorageError(.corrupt, "\(funnelLogKey) holds an entry that is not a list of records") }
            lastID = id
            guard FunnelStepLogEntry.decode(blob, into: &records) else {
                throw StorageError(.corrupt, "\(funnelLogKey) entry \(id) is not a list of records")
            }
        }
        let gap =
            cursor.map { c in
                guard let count else { return true }
                return c.epoch != epoch || count < c.sequence || count - c.sequence != UInt64(entries.count)
            } ?? false
        return FunnelStepPoll(
            cursor: FeedCursor(sequence: count ?? 0, id: lastID, epoch: epoch), records: gap ? [] : records, gap: gap)
    }
}

extension RedisHotStore {
    /// ``pollFunnelSteps(after:)`` on a Redis Cluster: the same reads in every feed shard (one transaction per shard,
    /// all sent at once), the shard's fence as its epoch. The cursor holds each shard's count and last id
    /// (``ShardPositions``); a gap in any shard, fences that disagree (a rebuild's flip under way) or another epoch is a
    /// gap. Records of different shards come in no particular order: a funnel cache adds them to sets.
    func pollFunnelShards(after cursor: FeedCursor?) async throws -> FunnelStepPoll {
        let shards = feedShards
        let positions = cursor.flatMap { ShardPositions(decoding: $0.id, shards: shards) }
        var cmds = RESPCommands()
        for shard in 0..<shards {
            let (count, log) = (funnelLogCountKey(shard: shard), funnelLogKey(shard: shard))
            cmds.append("GET", .string(count))
            cmds.append("INCRBY", .string(count), .int(0))
            if let positions {
                cmds.append("XRANGE", .string(log), .string("(" + positions.ids[shard]), .string("+"))
            } else {
                cmds.append("XRANGE", .string(log), .string("-"), .string("+"))
            }
            cmds.append("GET", .string(changesFenceKey(shard: shard)))
        }
        let commands = cmds
        let replies = try await wrap { try await self.client.transactionsPerSlotAtOnce(commands) }
        guard replies.count == 4 * shards else {
            throw StorageError(.corrupt, "funnel log poll: \(replies.count) replies to \(4 * shards) commands")
        }
        let fences = Set((0..<shards).map { replies[4 * $0 + 3].string })
        let epoch = fences.count == 1 ? fences.first! : nil
        var next = ShardPositions(counts: [], ids: [])
        var records: [FunnelStepRecord] = []
        var gap = cursor != nil && (positions == nil || fences.count != 1 || cursor?.epoch != epoch)
        for shard in 0..<shards {
            let count = replies[4 * shard].int.map { UInt64(max(0, $0)) }
            let entries = replies[4 * shard + 2].array ?? []
            var lastID = positions?.ids[shard] ?? "0-0"
            for entry in entries {
                guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array,
                    fields.count >= 2, let blob = fields[1].bytes
                else {
                    throw StorageError(
                        .corrupt, "\(funnelLogKey(shard: shard)) holds an entry that is not a list of records")
                }
                lastID = id
                guard FunnelStepLogEntry.decode(blob, into: &records) else {
                    throw StorageError(.corrupt, "\(funnelLogKey(shard: shard)) entry \(id) is not a list of records")
                }
            }
            if let positions {
                let before = positions.counts[shard]
                if let count {
                    if count < before || count - before != UInt64(entries.count) { gap = true }
                } else {
                    gap = true
                }
            }
            next.counts.append(count ?? 0)
            next.ids.append(lastID)
        }
        return FunnelStepPoll(
            cursor: FeedCursor(sequence: next.counts.reduce(0, +), id: next.encoded, epoch: epoch),
            records: gap ? [] : records, gap: gap)
    }
}

/// Where a reader is in each feed shard, as the `id` of a ``FeedCursor`` on a Redis Cluster: per shard
/// `<count>@<stream id>`, joined by `;` (the cursor's `sequence` is the sum of the counts).
struct ShardPositions: Equatable {
    var counts: [UInt64]
    var ids: [String]

    init(counts: [UInt64], ids: [String]) {
        self.counts = counts
        self.ids = ids
    }

    /// Nil when `id` is not `shards` positions (a cursor of another layout: the reader starts over).
    init?(decoding id: String, shards: Int) {
        let parts = id.split(separator: ";", omittingEmptySubsequences: false)
        guard parts.count == shards else { return nil }
        counts = []
        ids = []
        for part in parts {
            let f = part.split(separator: "@", maxSplits: 1)
            guard f.count == 2, let count = UInt64(f[0]) else { return nil }
            counts.append(count)
            ids.append(String(f[1]))
        }
    }

    var encoded: String { zip(counts, ids).map { "\($0)@\($1)" }.joined(separator: ";") }
}

/// The records of one funnel log entry: per record `<funnel bytes>:<funnel><step>:<time>:<entity bytes>:<entity>`,
/// lengths first so that any text fits.
enum FunnelStepLogEntry {
    static func encode(_ records: Set<FunnelStepRecord>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(records.count * 64)
        for r in records {
            out += Array("\(r.funnel.utf8.count):".utf8) + Array(r.funnel.utf8)
            out += Array("\(r.step):\(r.timestampMs):\(r.entity.utf8.count):".utf8) + Array(r.entity.utf8)
        }
        return out
    }

    /// Appends the records of `bytes` to `out`; false when `bytes` is not an entry.
    static func decode(_ bytes: [UInt8], into out: inout [FunnelStepRecord]) -> Bool {
        var i = 0
        func number() -> Int64? {
            var value: Int64 = 0
            var negative = false
            var digits = 0
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") {
                negative = true
                i += 1
            }
            while i < bytes.count, bytes[i] != UInt8(ascii: ":") {
                let d = bytes[i] &- UInt8(ascii: "0")
                guard d < 10, digits < 19 else { return nil }
                value = value * 10 + Int64(d)
                digits += 1
                i += 1
            }
            guard digits > 0, i < bytes.count else { return nil }
            i += 1  // the ':'
            return negative ? -value : value
        }
        func text() -> String? {
            guard let n = number(), n >= 0, n <= bytes.count - i else { return nil }
            defer { i += Int(n) }
            return String(decoding: bytes[i..<i + Int(n)], as: UTF8.self)
        }
        while i < bytes.count {
            guard let funnel = text(), let step = number(), let ts = number(), let entity = text(),
                let s = Int(exactly: step)
            else { return false }
            out.append(FunnelStepRecord(funnel: funnel, step: s, entity: entity, timestampMs: ts))
        }
        return true
    }
}
