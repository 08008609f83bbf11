import Collector
import Synchronization

/// The hashes a store's commits wrote parts to (``HotPart``), and how many each, until they are folded.
///
/// In memory only: after a restart the parts written before it stay as they are until their key expires (readers
/// add them up all the same); a key another collector also writes is folded by whichever of them writes it twice.
final class PartFolds: Sendable {
    struct Pending: Sendable {
        var parts: Int
        /// The bucket of a bucket hash; nil for a service's totals, which never expire.
        var bucket: Int64?
        /// When the last part was noted.
        var lastMs: Int64

        /// One more part, noted at `nowMs`; returns how many there are now.
        @discardableResult
        mutating func add(at nowMs: Int64) -> Int {
            parts += 1
            lastMs = nowMs
            return parts
        }
    }

    private struct State: Sendable {
        var pending: [String: Pending] = [:]
        /// Keys that reached ``maxParts`` since they were last handed out, oldest first.
        var full: [String] = []
        var lastScanMs: Int64 = .min
    }

    private let state = Mutex(State())
    /// A bucket's hash is folded this long after the bucket ended: late events are rare by then.
    static let settleMs: Int64 = 20_000
    /// ... and once no part was added to it for this long. A file of the last hour shipped at once adds a part to
    /// nearly every hash of the hour with every commit, for as long as the shipment lasts: folding at every second
    /// part merged each hash's growing contents a dozen times over (~3 % of a shipment's CPU, perf,
    /// docs/benchmarks.md), where once at the end (or every ``maxParts``) does.
    static let quietMs: Int64 = 5_000
    /// Parts a key may gather before it is folded whatever its age: the totals, a bucket written for long.
    static let maxParts = 16

    /// Counts one more part in each of `keys`, added at `nowMs`.
    func note(_ keys: [(key: String, bucket: Int64?)], nowMs: Int64) {
        state.withLock { s in
            for k in keys {
                // One lookup of the key, in place.
                let parts = s.pending[k.key, default: Pending(parts: 0, bucket: k.bucket, lastMs: nowMs)].add(at: nowMs)
                if parts == Self.maxParts { s.full.append(k.key) }
            }
        }
    }

    /// Up to `limit` keys that reached ``maxParts``, forgotten here: what a commit folds as it goes, so that however
    /// long a burst keeps the flush busy no hash gathers more parts than that. No scan of the table.
    func full(limit: Int) -> [String] {
        state.withLock { s in
            var out: [String] = []
            var taken = 0
            for key in s.full {
                if out.count == limit { break }
                taken += 1
                // Handed out by ``due(nowMs:retentionMs:limit:)`` meanwhile, or forgotten: nothing to do.
                guard let p = s.pending[key], p.parts >= Self.maxParts else { continue }
                s.pending[key] = nil
                out.append(key)
            }
            s.full.removeFirst(taken)
            return out
        }
    }

    /// Up to `limit` keys to fold now, forgotten here: those with two parts or more whose bucket ended
    /// ``settleMs`` ago and that got no part for ``quietMs``, or with ``maxParts``. Keys past `retentionMs` are
    /// forgotten too. The whole table is looked at no more than once a second.
    func due(nowMs: Int64, retentionMs: Int64, limit: Int) -> [String] {
        dueEntries(nowMs: nowMs, retentionMs: retentionMs, limit: limit).map(\.key)
    }

    /// ``due(nowMs:retentionMs:limit:)`` with what was known of each key, for ``putBack(_:)``.
    func dueEntries(nowMs: Int64, retentionMs: Int64, limit: Int) -> [(key: String, pending: Pending)] {
        state.withLock { s in
            guard nowMs >= s.lastScanMs &+ 1_000 || s.lastScanMs > nowMs else { return [] }
            s.lastScanMs = nowMs
            var out: [(key: String, pending: Pending)] = []
            var gone: [String] = []
            for (key, p) in s.pending {
                let endMs = p.bucket.map { ($0 + 1) * TimeBucket.hotWidthMs }
                if let endMs, endMs &+ retentionMs < nowMs {
                    gone.append(key)
                } else if out.count < limit && p.parts >= 2
                    && (p.parts >= Self.maxParts
                        || endMs.map { $0 &+ Self.settleMs <= nowMs && p.lastMs &+ Self.quietMs <= nowMs } ?? false)
                {
                    out.append((key, p))
                }
            }
            for key in gone { s.pending[key] = nil }
            for e in out { s.pending[e.key] = nil }
            return out
        }
    }

    /// Takes back keys handed out by ``dueEntries(nowMs:retentionMs:limit:)`` and not folded, with the parts noted
    /// since added to theirs: the next scan hands them out again.
    func putBack(_ entries: some Sequence<(key: String, pending: Pending)>) {
        state.withLock { s in
            for e in entries {
                var p = e.pending
                if let now = s.pending[e.key] {
                    p.parts += now.parts
                    p.lastMs = max(p.lastMs, now.lastMs)
                }
                s.pending[e.key] = p
                // Full now, or was when handed out: the next commit folds it (``note(_:nowMs:)`` adds a key once, when
                // its count reaches the limit, which a sum may have passed).
                if p.parts >= Self.maxParts && !s.full.contains(e.key) { s.full.append(e.key) }
            }
        }
    }

    /// How many keys are waiting.
    var count: Int { state.withLock { $0.pending.count } }
}

extension RedisHotStore {
    /// Replaces the parts of each hash in `keys` by one part holding their sums, so reads stay one part a key. Each
    /// key's parts are read, merged here and swapped by a script that first checks every part it replaces is still
    /// there (another collector folding the same key at once makes one of the two swaps do nothing). Returns how many
    /// keys were folded.
    @discardableResult
    public func foldParts(of keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        var reads = RESPCommands()
        for key in keys { reads.append("HGETALL", .string(key)) }
        let readCommands = reads
        let replies = try await wrap { try await self.client.pipeline(readCommands) }
        var swaps = RESPCommands()
        for (key, reply) in zip(keys, replies) {
            guard let items = reply.array else { continue }
            var names: [[UInt8]] = []
            var blobs: [ArraySlice<UInt8>] = []
            var i = 0
            while i + 1 < items.count && names.count < Self.maxPartsPerFold {
                if case .bulk(let field) = items[i], HotPart.isPart(field), case .bulk(let blob) = items[i + 1] {
                    names.append(field)
                    blobs.append(blob[...])
                }
                i += 2
            }
            guard names.count >= 2 else { continue }
            var args: [RESPArg] = [
                .string("EVAL"), .string(Self.foldScript), .int(1), .string(key), .bytes(HotPart.newName()),
                .bytes(HotPart.merge(blobs)),
            ]
            args.reserveCapacity(args.count + names.count)
            for name in names { args.append(.bytes(name)) }
            swaps.append(args)
        }
        guard !swaps.isEmpty else { return 0 }
        let swapCommands = swaps
        let answers = try await wrap { try await self.client.pipeline(swapCommands) }
        return answers.reduce(0) { $0 + ($1.int == 1 ? 1 : 0) }
    }

    /// Folds the keys that reached ``PartFolds/maxParts``, ``foldChunk`` at a time: what a commit does as it goes. A
    /// failure leaves their parts as they are (readers add them up).
    func foldFullParts() async {
        let keys = folds.full(limit: 512)
        for start in stride(from: 0, to: keys.count, by: Self.foldChunk) {
            _ = try? await foldParts(of: Array(keys[start..<min(start + Self.foldChunk, keys.count)]))
        }
    }

    /// Folds the keys ``PartFolds`` finds due (settled, or full), ``foldChunk`` at a time, while `keepGoing` says so;
    /// the rest is kept for the next call. A failure leaves their parts as they are (readers add them up).
    ///
    /// The flush calls this once it has caught up (``MetricsStore/tidy(while:)``), not each commit: the hashes of a
    /// shipped hour all settle after it, and their folds, done by the first commit that came next, held up the next
    /// shipment's first seconds while ingest filled the hot lane past its cap (docs/benchmarks.md).
    public func tidy(while keepGoing: () -> Bool) async {
        let due = folds.dueEntries(nowMs: clock.nowMs(), retentionMs: configuration.retentionSeconds * 1000, limit: 512)
        var start = 0
        while start < due.count {
            guard keepGoing() else {
                folds.putBack(due[start...])
                return
            }
            let end = min(start + Self.foldChunk, due.count)
            _ = try? await foldParts(of: due[start..<end].map(\.key))
            start = end
        }
    }

    /// Keys folded per round trip: each key's parts are read whole, merged and sent back, so the replies, the merged
    /// parts and the scripts' arguments of a chunk are in memory at once (512 keys of a shipped hour at once added
    /// ~20 MB to the collector's peak RSS).
    static let foldChunk = 32

    /// How many parts one swap replaces at most (the script's `unpack` stays far below Lua's stack limit).
    static let maxPartsPerFold = 512

    /// `KEYS[1]` the hash; `ARGV[1]`, `ARGV[2]` the new part's name and value; `ARGV[3…]` the parts it replaces. The
    /// new part is written before the old ones are removed, so the hash (and its expiry) never ceases to exist.
    static let foldScript = """
        for i = 3, #ARGV do
          if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then return 0 end
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('HDEL', KEYS[1], unpack(ARGV, 3))
        return 1
        """
}
