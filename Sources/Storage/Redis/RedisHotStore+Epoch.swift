import Collector

/// Detecting and repairing a Redis that lost its data (docs/hot-store-loss.md): the epoch key, the rebuild lock,
/// clearing and loading.
extension RedisHotStore: HotEpochStore {
    public func commit(_ delta: Delta, position: UInt64, collector: String, expecting: HotExpectation) async throws
        -> GuardedCommit
    {
        try await commit(delta, position: position, collector: collector, guard: expecting)
    }

    public func epochState(collector: String) async throws -> HotEpochState {
        var cmds = RESPCommands()
        cmds.append("GET", .string(epochKey))
        cmds.append("GET", .string(rebuildKey))
        cmds.append("GET", .string(positionKey(collector)))
        let commands = cmds
        let replies = try await wrap { try await self.client.pipeline(commands) }
        let lock = replies[1].string.map { String($0.prefix { $0 != " " }) }
        var state = HotEpochState(
            epoch: replies[0].string, rebuilding: lock, position: replies[2].string.flatMap { UInt64($0) } ?? 0)
        if client.isCluster, let epoch = state.epoch {
            state.lost = try await lostSlots(collector: collector, epoch: epoch, rebuilding: lock)
        }
        return state
    }

    public func lockRebuild(epoch: String, holder: String, ttlMs: Int64) async throws -> Bool {
        if client.isCluster { return try await lockRebuildOnCluster(epoch: epoch, holder: holder, ttlMs: ttlMs) }
        let (lockKey, epochKey) = (rebuildKey, self.epochKey)
        return try await wrap {
            try await client.withConnection { conn in
                let reply = try conn.command(
                    "SET", .string(lockKey), .string("\(epoch) \(holder)"), .string("NX"), .string("PX"), .int(ttlMs))
                guard reply.string == "OK" else { return false }
                // From here no guarded commit lands: they all expect an epoch, and the store has none until the
                // rebuild sets the new one.
                _ = try conn.command("DEL", .string(epochKey))
                return true
            }
        }
    }

    public func clearForRebuild(epoch: String) async throws {
        if client.isCluster { return try await clearOnCluster(epoch: epoch) }
        let pattern = Self.globEscaped(configuration.keyPrefix) + ":*"
        let lockKey = rebuildKey
        var cursor = "0"
        repeat {
            let at = cursor
            let reply = try await wrap {
                try await client.command("SCAN", .string(at), .string("MATCH"), .string(pattern), .string("COUNT"), .int(2_000))
            }
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                throw StorageError(.corrupt, "SCAN answered \(reply)")
            }
            // Each batch renews the lock, so a large keyspace (SCAN walks all of it) does not outlast it.
            var cmds = RESPCommands()
            let keys = (parts[1].array ?? []).compactMap(\.string).filter { $0 != lockKey }
            if !keys.isEmpty { cmds.append([.string("UNLINK")] + keys.map { .string($0) }) }
            cmds.append("PEXPIRE", .string(lockKey), .int(30_000))
            guard try await whileLocked(epoch, run: cmds) else {
                throw StorageError(.redis, "the rebuild lock of epoch \(epoch) was lost while clearing")
            }
            cursor = next
        } while cursor != "0"
    }

    public func loadForRebuild(_ delta: Delta, epoch: String, ttlMs: Int64) async throws {
        var w = Writes(cmds: RESPCommands(reservingCapacity: 64 * 1024))
        add(delta, to: &w)
        addFacts(delta.jobFacts, to: &w)
        var cmds = finish(w, funnelSteps: delta.funnelSteps, changeFeed: false)
        if client.isCluster { return try await loadOnCluster(cmds, epoch: epoch, ttlMs: ttlMs) }
        cmds.append("PEXPIRE", .string(rebuildKey), .int(ttlMs))
        let commands = cmds
        guard try await whileLocked(epoch, run: commands) else {
            throw StorageError(.redis, "the rebuild lock of epoch \(epoch) expired or was taken while loading")
        }
        folds.note(w.partKeys, nowMs: clock.nowMs())
    }

    public func finishRebuild(epoch: String, positions: [String: UInt64]) async throws -> Bool {
        if client.isCluster { return try await finishOnCluster(epoch: epoch, positions: positions) }
        var cmds = RESPCommands()
        for (collector, position) in positions {
            cmds.append("SET", .string(positionKey(collector)), .string(String(position)))
        }
        cmds.append("SET", .string(epochKey), .string(epoch))
        cmds.append("DEL", .string(rebuildKey))
        return try await whileLocked(epoch, run: cmds)
    }

    public func releaseRebuild(epoch: String) async throws {
        var cmds = RESPCommands()
        cmds.append("DEL", .string(rebuildKey))
        _ = try await whileLocked(epoch, run: cmds)
    }

    /// Runs `cmds` as one transaction if, and only if, the rebuild lock is `epoch`'s until it runs. On a cluster
    /// `cmds` may only touch the lock's slot.
    func whileLocked(_ epoch: String, run cmds: RESPCommands) async throws -> Bool {
        let lockKey = rebuildKey
        return try await wrap {
            try await client.withConnection(slotOf: lockKey) { conn in
                _ = try conn.command("WATCH", .string(lockKey))
                guard Self.lock(try conn.command("GET", .string(lockKey)), is: epoch) else {
                    _ = try conn.command("UNWATCH")
                    return false
                }
                do {
                    _ = try conn.transaction(cmds)
                } catch let error as RedisError where error.code == .transactionAborted {
                    return false
                }
                return true
            }
        }
    }

    private static func lock(_ reply: RedisReply, is epoch: String) -> Bool {
        reply.string.map { $0.prefix { $0 != " " } == epoch } ?? false
    }

    /// `text` with Redis glob characters escaped, for `SCAN … MATCH`.
    static func globEscaped(_ text: String) -> String {
        var out = ""
        for c in text {
            if "*?[]\\".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
