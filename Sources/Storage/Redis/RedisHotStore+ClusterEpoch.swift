import Collector

/// Hot-store loss detection and repair on a Redis Cluster (docs/hot-store-loss.md, "On a Redis Cluster").
///
/// The epoch `P:{epoch}` and the lock `P:{epoch}:rebuild` share a slot; besides, every slot holds a copy of the epoch,
/// `P:{tag}:epoch` (its *fence*), which each slot's part of a commit checks in the same step as its writes
/// (``RedisClient/guardedPerSlot(_:guard:journal:)``). A rebuild moves every fence to `rebuild:<new epoch>` first, so
/// no commit of the old epoch lands anywhere from then on, not even one of a flush left halfway; its loads and its
/// flip to the new epoch are guarded by that value, so a rebuilder that lost the lock writes nothing after the next
/// one started.
extension RedisHotStore {
    /// What every fence holds while the rebuild of `epoch` is under way.
    static func building(_ epoch: String) -> String { "rebuild:\(epoch)" }

    /// Every slot's fence key.
    var allFences: [String] { (0..<RedisKeySlot.count).map { fenceKey(RedisKeySlot.tag(for: $0)) } }

    /// Whether this collector's markers show a loss in `epoch`: checked when the slot map changed since they were
    /// last read (a failover), or already found by a commit. Slots that refused a commit with their fence still at
    /// the rebuild's value are read again once no rebuild holds the lock (`rebuilding` nil): a fence still not at the
    /// epoch then is a flip a failover took back. Nil when nothing is missing.
    func lostSlots(collector: String, epoch: String, rebuilding: String?) async throws -> String? {
        guard let pending = tracker.pending(epoch: epoch, nowMs: clock.nowMs()) else { return nil }
        if let lost = pending.lost { return lost }
        if !pending.fenced.isEmpty && rebuilding == nil {
            let fenced = pending.fenced.sorted()
            var reads = RESPCommands()
            for slot in fenced { reads.append("GET", .string(fenceKey(RedisKeySlot.tag(for: slot)))) }
            let commands = reads
            let replies = try await wrap { try await self.client.pipeline(commands) }
            tracker.fencesChecked(Set(fenced), epoch: epoch)
            if let (slot, reply) = zip(fenced, replies).first(where: { $1.string != epoch }) {
                let reason = "slot \(slot) holds epoch \(reply.string ?? "none") after the rebuild of \(epoch) finished"
                tracker.found(reason, epoch: epoch)
                return reason
            }
        }
        var lost: String?
        if !pending.slots.isEmpty {
            let marker = journal(collector, sequence: 0).marker
            var reads = RESPCommands()
            for entry in pending.slots { reads.append("GET", .string(marker(RedisKeySlot.tag(for: entry.slot)))) }
            let commands = reads
            let replies = try await wrap { try await self.client.pipeline(commands) }
            let behind = zip(pending.slots, replies).filter { entry, reply in
                (reply.string.flatMap { UInt64($0) } ?? 0) < entry.position
            }
            if let (entry, reply) = behind.min(by: { $0.0.slot < $1.0.slot }) {
                lost =
                    "after a failover, slot \(entry.slot) holds position \(reply.string ?? "none") for this collector, "
                    + "which committed \(entry.position) there"
                    + (behind.count > 1 ? " (and \(behind.count - 1) more slots)" : "")
            }
        }
        tracker.verified(epoch: epoch, change: pending.change, lost: lost)
        return lost
    }

    /// Takes the lock, withdraws the epoch and moves every fence to ``building(_:)``: from then on no commit of the
    /// old epoch lands in any slot.
    func lockRebuildOnCluster(epoch: String, holder: String, ttlMs: Int64) async throws -> Bool {
        let (lockKey, epochKey) = (rebuildKey, self.epochKey)
        let reply = try await wrap {
            try await self.client.command(
                "SET", .string(lockKey), .string("\(epoch) \(holder)"), .string("NX"), .string("PX"), .int(ttlMs))
        }
        guard reply.string == "OK" else { return false }
        do {
            var cmds = RESPCommands(reservingCapacity: RedisKeySlot.count * 48)
            cmds.append("DEL", .string(epochKey))
            for key in allFences { cmds.set(key, Self.building(epoch)) }
            let commands = cmds
            _ = try await wrap { try await self.client.pipeline(commands) }
        } catch {
            try? await releaseRebuild(epoch: epoch)
            throw error
        }
        return true
    }

    /// `SCAN` + `UNLINK` on every master: every key under the prefix but the lock and the fences.
    func clearOnCluster(epoch: String) async throws {
        let pattern = Self.globEscaped(configuration.keyPrefix) + ":*"
        var kept = Set(allFences)
        kept.insert(rebuildKey)
        var renew = RESPCommands()
        renew.append("PEXPIRE", .string(rebuildKey), .int(30_000))
        for node in try await wrap({ try await self.client.masterNodes() }) {
            var cursor = "0"
            repeat {
                let reply = try await wrap {
                    try await self.client.command(
                        on: node,
                        [.string("SCAN"), .string(cursor), .string("MATCH"), .string(pattern), .string("COUNT"), .int(2_000)])
                }
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                    throw StorageError(.corrupt, "SCAN on \(node) answered \(reply)")
                }
                // Each batch renews the lock, so a large keyspace (SCAN walks all of it) does not outlast it.
                guard try await whileLocked(epoch, run: renew) else {
                    throw StorageError(.redis, "the rebuild lock of epoch \(epoch) was lost while clearing")
                }
                let keys = (parts[1].array ?? []).compactMap(\.string).filter { !kept.contains($0) }
                if !keys.isEmpty {
                    var unlink = RESPCommands()
                    for key in keys { unlink.append("UNLINK", .string(key)) }  // one per key: keys of many slots
                    let commands = unlink
                    _ = try await wrap { try await self.client.pipeline(commands) }
                }
                cursor = next
            } while cursor != "0"
        }
    }

    /// Loads one part of the snapshot, each slot's commands guarded by its fence still being this rebuild's.
    func loadOnCluster(_ cmds: RESPCommands, epoch: String, ttlMs: Int64) async throws {
        var renew = RESPCommands()
        renew.append("PEXPIRE", .string(rebuildKey), .int(ttlMs))
        guard try await whileLocked(epoch, run: renew), try await runFenced(cmds, by: Self.building(epoch)) else {
            throw StorageError(.redis, "the rebuild lock of epoch \(epoch) expired or was taken while loading")
        }
    }

    /// Sets the positions and flips every fence from ``building(_:)`` to `epoch`, then sets the epoch and releases the
    /// lock; false when another rebuild took over meanwhile.
    func finishOnCluster(epoch: String, positions: [String: UInt64]) async throws -> Bool {
        var renew = RESPCommands()
        renew.append("PEXPIRE", .string(rebuildKey), .int(30_000))
        guard try await whileLocked(epoch, run: renew) else { return false }
        var cmds = RESPCommands()
        for (collector, position) in positions {
            cmds.append("SET", .string(positionKey(collector)), .string(String(position)))
        }
        guard try await runFenced(cmds, by: Self.building(epoch)) else { return false }
        let fences = allFences
        let building = Self.building(epoch)
        let refused = try await wrap {
            try await self.client.compareAndSetEach(fences, expected: building, new: epoch)
        }
        guard refused == 0 else { return false }
        var done = RESPCommands()
        done.append("SET", .string(epochKey), .string(epoch))
        done.append("DEL", .string(rebuildKey))
        return try await whileLocked(epoch, run: done)
    }

    /// Runs `cmds` slot by slot where the slot's fence holds `value`; false when some slot's did not.
    private func runFenced(_ cmds: RESPCommands, by value: String) async throws -> Bool {
        guard !cmds.isEmpty else { return true }
        let guarding = RedisSlotGuard(fence: fence, expected: value)
        let verdicts = try await wrap { try await self.client.guardedPerSlot(cmds, guard: guarding, journal: nil) }
        return verdicts.values.allSatisfy(\.isIn)
    }
}
