import Collector

extension RedisHotStore {
    /// One `MULTI … EXEC`: the change count, the stream entries after the cursor (or the newest entry's id), the
    /// services and the `HGETALL` of every (service, bucket) asked for, so the bucket contents are exactly the
    /// state after the last entry returned.
    ///
    /// Entries lost to `MAXLEN` trimming (or a reset store) show as a change count that grew by more than the
    /// entries returned (or shrank), and a rebuilt store as another epoch: the poll then reports a gap. The epoch
    /// read is also told to the store's ``HotEpochSignal``.
    public func poll(after cursor: FeedCursor?, buckets: [Int64]) async throws -> FeedPoll {
        if client.isCluster { return try await pollAcrossSlots(after: cursor, buckets: buckets) }
        return try await poll(after: cursor, buckets: buckets, totals: false).poll
    }

    /// The sums of `ranges` and the running totals (`P:{S}:totals`) in the same `MULTI … EXEC`, so the totals are
    /// exactly those of the changes up to the returned cursor. On a Redis Cluster the totals are nil: a service's
    /// totals and the feed shards live in different slots, which no transaction spans.
    public func sumsAndTotals(over ranges: [ClosedRange<Int64>]) async throws -> (
        cursor: FeedCursor, sums: [WindowData], totals: WindowData?
    ) {
        guard !client.isCluster else {
            let s = try await sums(over: ranges)
            return (s.cursor, s.sums, nil)
        }
        let buckets: [Int64]
        if let lo = ranges.map(\.lowerBound).min(), let hi = ranges.map(\.upperBound).max(), lo <= hi {
            buckets = Array(lo...hi)
        } else {
            buckets = []
        }
        let (p, totals) = try await poll(after: nil, buckets: buckets, totals: true)
        return (p.cursor, ranges.map { WindowData.sum(of: p.buckets, in: $0) }, totals)
    }

    /// ``poll(after:buckets:)`` on one Redis, with every service's running totals in the same transaction when
    /// `totals` (nil otherwise).
    private func poll(after cursor: FeedCursor?, buckets: [Int64], totals: Bool) async throws -> (
        poll: FeedPoll, totals: WindowData?
    ) {
        var names: [String] = []
        if !buckets.isEmpty || totals { names = try await services() }
        while true {
            var cmds = RESPCommands()
            cmds.append("GET", .string(epochKey))
            cmds.append("GET", .string(changeCountKey))
            if let cursor {
                cmds.append("XRANGE", .string(changesKey), .string("(" + cursor.id), .string("+"))
            } else {
                cmds.append("XREVRANGE", .string(changesKey), .string("+"), .string("-"), .string("COUNT"), .int(1))
            }
            cmds.append("SMEMBERS", .string(servicesKey))
            let (order, bucketOrder) = appendBucketReads(names, buckets, to: &cmds)
            if totals { for name in names { cmds.append("HGETALL", .string("\(tag(name)):totals")) } }
            let expected = 4 + order.count + (totals ? names.count : 0)
            let commands = cmds
            let replies = try await wrap { try await self.client.transaction(commands) }
            guard replies.count == expected else {
                throw StorageError(.corrupt, "change feed poll: \(replies.count) replies to \(expected) commands")
            }
            let epoch = replies[0].string
            configuration.signal?.observed(epoch: epoch)
            let current = Set((replies[3].array ?? []).compactMap(\.string))
            if (!buckets.isEmpty || totals) && !current.isSubset(of: names) {
                names = current.sorted()  // a service appeared meanwhile: read its buckets (and totals) too
                continue
            }
            let bucketReplies = replies[4..<(4 + order.count)]
            let poll = try makePoll(
                after: cursor, count: replies[1], entries: replies[2], buckets: bucketReplies, services: order,
                bucketOrder: bucketOrder, epoch: epoch)
            return (poll, totals ? Self.sum(replies[(4 + order.count)...], services: names) : nil)
        }
    }

    /// The feed's position and changes after `cursor` from the replies to `GET` of the count and `XRANGE` (or
    /// `XREVRANGE … COUNT 1` when there is no cursor), and the buckets from `HGETALL` replies: `services[i]` and
    /// `bucketOrder[i]` say whose bucket the i-th one is.
    func makePoll(
        after cursor: FeedCursor?, count countReply: RedisReply, entries entriesReply: RedisReply,
        buckets replies: ArraySlice<RedisReply>, services order: [String], bucketOrder: [Int64], epoch: String? = nil
    ) throws -> FeedPoll {
        let count = countReply.int.map { UInt64(max(0, $0)) } ?? 0
        let entries = entriesReply.array ?? []
        var changes: [FeedChange] = []
        let lastID =
            try Self.changeRecords(
                entries, of: changesKey, keep: cursor != nil, own: configuration.ownChanges, into: &changes)
            ?? cursor?.id ?? "0-0"
        let gap =
            cursor.map { $0.epoch != epoch || count < $0.sequence || count - $0.sequence != UInt64(entries.count) }
            ?? false
        return FeedPoll(
            cursor: FeedCursor(sequence: count, id: lastID, epoch: epoch), changes: changes, gap: gap,
            buckets: Self.bucketContents(replies, services: order, buckets: bucketOrder))
    }

    /// The change records of `entries` (an `XRANGE` reply of stream `key`), appended to `changes` when `keep`;
    /// returns the last entry's id (nil: none). An entry of this process's own commits is taken from `own` when it
    /// is still there (its token in field `o`), and decoded otherwise.
    static func changeRecords(
        _ entries: [RedisReply], of key: String, keep: Bool, own: OwnChanges? = nil,
        into changes: inout [FeedChange]
    ) throws -> String? {
        var lastID: String?
        let corrupt = StorageError(.corrupt, "\(key) holds an entry that is not a change record")
        for entry in entries {
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array,
                fields.count >= 2, let blob = fields[1].bytes
            else { throw corrupt }
            var change: FeedChange?
            // Only a poll that keeps the changes takes them: one without a cursor (a rebuild's, a read of the totals)
            // leaves them to the cache's next poll.
            if keep, let own, fields.count >= 4, fields[2].string == "o", let token = fields[3].string {
                change = own.take(token).map { FeedChange(deltas: $0) }
            }
            guard let change = change ?? ChangeRecord.decode(blob).map({ FeedChange($0) }) else { throw corrupt }
            lastID = id
            if keep { changes.append(change) }
        }
        return lastID
    }

    /// Bucket contents from `HGETALL` replies: the i-th is bucket `buckets[i]` of service `services[i]`.
    static func bucketContents(
        _ replies: some Sequence<RedisReply>, services: [String], buckets: [Int64]
    ) -> [Int64: WindowData] {
        var contents: [Int64: WindowData] = [:]
        // One reader per service across its buckets: each series' `String`s and key are made once, not once per
        // bucket (a chart reads hundreds of buckets of the same series).
        var readers: [String: HotFieldReader] = [:]
        for (i, reply) in replies.enumerated() {
            guard let items = reply.array, !items.isEmpty else { continue }
            let name = services[i]
            readers[name, default: HotFieldReader(service: name)].add(pairs: items)
            readers[name]!.flush(into: &contents[buckets[i], default: WindowData()])
        }
        return contents
    }
}
