/// What each slot's part of a batch must find in that slot before it runs: see
/// ``RedisClient/guardedPerSlot(_:guard:journal:)``.
public struct RedisSlotGuard: Sendable {
    /// The key, given a slot's hash tag, that must hold `expected` in that slot (for the hot store: its epoch).
    public var fence: @Sendable (_ tag: String) -> String
    /// What the fence key must hold.
    public var expected: String
    /// The key, given a hash tag, that records in that tag's slot the last `sequence` applied there; nil: no marker,
    /// a part runs whenever the fence holds.
    public var marker: (@Sendable (_ tag: String) -> String)?
    /// The least value a slot's marker must hold: the last sequence this writer knows it applied in that slot. Below
    /// it the slot has lost writes (a failover to a replica that never received them).
    public var minimum: @Sendable (_ slot: Int) -> UInt64
    /// Increases with every batch of this writer (for a collector: its log position).
    public var sequence: UInt64

    /// Creates the guard.
    public init(
        fence: @escaping @Sendable (_ tag: String) -> String, expected: String,
        marker: (@Sendable (_ tag: String) -> String)? = nil,
        minimum: @escaping @Sendable (_ slot: Int) -> UInt64 = { _ in 0 }, sequence: UInt64 = 0
    ) {
        self.fence = fence
        self.expected = expected
        self.marker = marker
        self.minimum = minimum
        self.sequence = sequence
    }
}

/// What became of one slot's part of a guarded batch.
public enum RedisSlotVerdict: Sendable, Equatable {
    /// The part ran and the marker moved to the batch's sequence.
    case applied
    /// The marker already held the sequence (an earlier attempt landed): nothing ran.
    case held
    /// The fence key held something else (shown; nil: missing): nothing ran.
    case fenced(String?)
    /// The marker was below the minimum (shown): the slot lost writes; nothing ran.
    case behind(UInt64)
    /// Not sent: another slot's part was refused first.
    case skipped

    /// Whether the part is in the slot (now or from an earlier attempt).
    public var isIn: Bool { self == .applied || self == .held }
}

extension RedisClient {
    /// Runs each slot's commands as one script that first checks the slot's fence key and marker
    /// (``RedisSlotGuard``) and runs the commands only when both hold: all in one step, so nothing lands in a slot that
    /// was fenced off or lost writes, whatever happened to it since the writer last looked. Returns each slot's
    /// verdict.
    ///
    /// A `WATCH` would guard one `MULTI` per round trip (`EXEC` drops every watched key); the script guards every slot
    /// of a master in one pipelined write. Slots go as in ``transactionPerSlot(_:journal:)`` — all but the last at
    /// once, then the last, and only when no part was refused — journaled under `journal` (when given) so that
    /// ``finishJournal(key:marker:onRefusal:)`` completes a batch a writer left halfway; the journal's parts carry
    /// their guard, so one left from before the fence moved (a rebuilt store) runs nowhere. Cluster only.
    public func guardedPerSlot(
        _ commands: RESPCommands, guard g: RedisSlotGuard, journal: String?
    ) async throws -> [Int: RedisSlotVerdict] {
        guard let cluster else {
            throw RedisError(code: .server, message: "guarded per-slot batches are for a Redis Cluster")
        }
        let sha = try await loadGuardScript()
        let calls = try Self.slotGroups(commands).map { group in
            SlotGroup(slot: group.slot, bytes: Self.guardedCall(group, g, sha: sha).bytes, indices: [-1])
        }
        if let journal {
            var record = RESPCommands()
            record.set(journal, Self.encodeJournal(calls, sequence: g.sequence, guarded: true))
            _ = try await pipeline(record)
        }
        var verdicts: [Int: RedisSlotVerdict] = [:]
        var head = RESPCommands()
        for call in calls.dropLast() { head.append(contentsOf: RESPCommands(encoded: call.bytes, count: 1)) }
        if !head.isEmpty {
            let replies = try await clusterPipeline(head, cluster)
            for (call, reply) in zip(calls, replies) {
                verdicts[call.slot] = try await guardedVerdict(reply, slot: call.slot, call.bytes, cluster)
            }
        }
        if let last = calls.last {
            if verdicts.values.allSatisfy(\.isIn) {
                let reply = try await runGroup(slot: last.slot, last.bytes, count: 1, transactional: false, cluster)
                verdicts[last.slot] = try await guardedVerdict(reply[0], slot: last.slot, last.bytes, cluster)
            } else {
                verdicts[last.slot] = .skipped
            }
        }
        if let journal {
            var done = RESPCommands()
            done.del(journal)
            _ = try await pipeline(done)
        }
        return verdicts
    }

    /// Sets each of `keys` to `new` where it holds `expected` (each key on its own, in one pipeline per master);
    /// returns how many held something else and were left as they were.
    public func compareAndSetEach(_ keys: [String], expected: String, new: String) async throws -> Int {
        var cmds = RESPCommands(reservingCapacity: keys.count * (Self.compareAndSetScript.utf8.count + 96))
        for key in keys {
            cmds.append(
                .string("EVAL"), .string(Self.compareAndSetScript), .int(1), .string(key), .string(expected),
                .string(new))
        }
        let commands = cmds
        let replies = try await pipeline(commands)
        if let failed = replies.first(where: { $0.errorMessage != nil }) {
            throw RedisError(code: .server, message: "compare-and-set failed: \(failed.errorMessage!)")
        }
        return replies.filter { $0.int != 1 }.count
    }

    static let compareAndSetScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2])
        return 1
        """

    /// The name (SHA1) of ``guardScript``, loaded (`SCRIPT LOAD`) on first use.
    func loadGuardScript() async throws -> String {
        if let sha = guardScriptSHA.withLock({ $0 }) { return sha }
        let reply = try await command("SCRIPT", "LOAD", .string(Self.guardScript))
        guard let sha = reply.string, reply.errorMessage == nil else {
            throw RedisError(code: .server, message: "SCRIPT LOAD of the guard script answered \(reply)")
        }
        guardScriptSHA.withLock { $0 = sha }
        return sha
    }

    /// The verdict of a guarded part's reply. A master that does not know the script (new, restarted, or a promoted
    /// replica: the script cache is not replicated) answers `NOSCRIPT`: it is given the script and the part runs
    /// again (`bytes`: the part's `EVALSHA`).
    func guardedVerdict(
        _ reply: RedisReply, slot: Int, _ bytes: [UInt8], _ cluster: RedisCluster
    ) async throws -> RedisSlotVerdict {
        guard let message = reply.errorMessage, message.hasPrefix("NOSCRIPT") else { return try Self.verdict(reply) }
        var load = RESPCommands()
        load.append("SCRIPT", "LOAD", .string(Self.guardScript))
        let again = try await runGroup(slot: slot, load.bytes + bytes, count: 2, transactional: false, cluster)
        return try Self.verdict(again[1])
    }

    /// One slot's part as `EVALSHA <sha> …` (or `EVAL <guardScript> …` without `sha`): the fence and marker as keys,
    /// then the expected fence value, the marker's minimum, the sequence, the commands' RESP and the marker's expiry.
    static func guardedCall(_ group: SlotGroup, _ g: RedisSlotGuard, sha: String?) -> RESPCommands {
        let tag = RedisKeySlot.tag(for: group.slot)
        var call = RESPCommands(reservingCapacity: group.bytes.count + (sha == nil ? guardScript.utf8.count : 40) + 256)
        var args: [RESPArg] = sha.map { [.string("EVALSHA"), .string($0)] } ?? [.string("EVAL"), .string(guardScript)]
        if let marker = g.marker {
            args += [.int(2), .string(g.fence(tag)), .string(marker(tag))]
        } else {
            args += [.int(1), .string(g.fence(tag))]
        }
        args += [
            .string(g.expected), .string(String(g.minimum(group.slot))), .string(String(g.sequence)),
            .bytes(group.bytes), .int(markerSeconds),
        ]
        call.append(args)
        return call
    }

    /// How long a slot's marker outlives the writer's last batch there.
    static let markerSeconds: Int64 = 86_400

    /// Reads a ``guardScript`` reply.
    static func verdict(_ reply: RedisReply) throws(RedisError) -> RedisSlotVerdict {
        if let message = reply.errorMessage {
            throw RedisError(code: .server, message: "a guarded slot's script failed: \(message)")
        }
        guard let parts = reply.array, parts.count == 2, let status = parts[0].string else {
            throw RedisError(code: .protocol, message: "a guarded slot's script answered \(reply)")
        }
        let detail = parts[1].string ?? ""
        switch status {
        case "ok": return .applied
        case "held": return .held
        case "fence": return .fenced(detail.isEmpty ? nil : detail)
        case "behind": return .behind(UInt64(detail) ?? 0)
        default: throw RedisError(code: .protocol, message: "a guarded slot's script answered \(status)")
        }
    }

    /// The check and the commands of one slot, run by Redis as one step. `ARGV[4]` holds the commands as RESP
    /// (arrays of bulk strings, as ``RESPCommands`` encodes them); the script runs them one by one.
    static let guardScript = """
        local fence = redis.call('GET', KEYS[1])
        if fence ~= ARGV[1] then return {'fence', fence or ''} end
        if #KEYS > 1 then
          local raw = redis.call('GET', KEYS[2])
          local held = tonumber(raw or '0') or 0
          if held >= tonumber(ARGV[3]) then return {'held', raw} end
          if held < tonumber(ARGV[2]) then return {'behind', raw or '0'} end
        end
        local blob = ARGV[4]
        local i, n = 1, 0
        while i <= #blob do
          local e = string.find(blob, '\\r\\n', i, true)
          local argc = tonumber(string.sub(blob, i + 1, e - 1))
          i = e + 2
          local args = {}
          for a = 1, argc do
            e = string.find(blob, '\\r\\n', i, true)
            local len = tonumber(string.sub(blob, i + 1, e - 1))
            i = e + 2
            args[a] = string.sub(blob, i, i + len - 1)
            i = i + len + 2
          end
          redis.call(unpack(args))
          n = n + 1
        end
        if #KEYS > 1 then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[5]) end
        return {'ok', tostring(n)}
        """
}

extension RESPCommands {
    /// A batch of `count` commands already encoded as `encoded`.
    init(encoded: [UInt8], count: Int) {
        self.init()
        appendEncoded(encoded, count: count)
    }
}
