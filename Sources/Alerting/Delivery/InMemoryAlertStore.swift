import Foundation
import Synchronization

/// `AlertStore` in memory, for unit tests and quick trials; `failNextCommits` makes commits fail, as a lost
/// database would.
public final class InMemoryAlertStore: AlertStore {
    private struct State {
        var parts: [String: [UInt8]] = [:]
        var history: [AlertHistoryEntry] = []
        var outbox: [OutboxRecord] = []
        var silences: [UUID: (bytes: [UInt8], endsAt: Int64)] = [:]
        var lease: (holder: String, expires: Int64)?
        var failCommits = 0
    }

    private let state = Mutex(State())

    /// An empty store.
    public init() {}

    /// Makes the next `n` commits throw.
    public func failNextCommits(_ n: Int) { state.withLock { $0.failCommits = n } }

    /// Everything in the outbox, in write order.
    public var outbox: [OutboxRecord] { state.withLock { $0.outbox } }

    public func loadState() async throws -> [String: [UInt8]] { state.withLock { $0.parts } }

    public func commit(state parts: [String: [UInt8]], history: [AlertHistoryEntry], outbox: [OutboxMessage], nowMs: Int64)
        async throws
    {
        try state.withLock { s in
            if s.failCommits > 0 {
                s.failCommits -= 1
                throw CancellationError()
            }
            s.parts.merge(parts) { $1 }
            s.history += history
            for m in outbox where !s.outbox.contains(where: { $0.message.id == m.id }) {
                s.outbox.append(
                    OutboxRecord(
                        message: m, sequence: Int64(s.outbox.count + 1), state: .pending, attempts: 0, createdAtMs: nowMs,
                        nextAttemptAtMs: nowMs))
            }
        }
    }

    public func claimDue(limit: Int, nowMs: Int64, claimMs: Int64) async throws -> [OutboxRecord] {
        state.withLock { s in
            var out: [OutboxRecord] = []
            for i in s.outbox.indices where out.count < limit {
                guard s.outbox[i].state == .pending, s.outbox[i].nextAttemptAtMs <= nowMs else { continue }
                s.outbox[i].attempts += 1
                s.outbox[i].nextAttemptAtMs = nowMs + claimMs
                out.append(s.outbox[i])
            }
            return out
        }
    }

    private func update(_ id: UUID, _ change: (inout OutboxRecord) -> Void) {
        state.withLock { s in
            if let i = s.outbox.firstIndex(where: { $0.message.id == id }) { change(&s.outbox[i]) }
        }
    }

    public func markDelivered(id: UUID, status: Int, atMs: Int64) async throws {
        update(id) {
            $0.state = .delivered
            $0.deliveredAtMs = atMs
            $0.lastStatus = status
        }
    }

    public func markRetry(id: UUID, status: Int?, error: String, nextAttemptAtMs: Int64) async throws {
        update(id) {
            $0.nextAttemptAtMs = nextAttemptAtMs
            $0.lastStatus = status
            $0.lastError = error
        }
    }

    public func markFailed(id: UUID, status: Int?, error: String, atMs: Int64) async throws {
        update(id) {
            $0.state = .failed
            $0.lastStatus = status
            $0.lastError = error
        }
    }

    public func notifications(limit: Int) async throws -> [OutboxRecord] {
        state.withLock { Array($0.outbox.reversed().prefix(limit)) }
    }

    public func history(limit: Int) async throws -> [AlertHistoryEntry] {
        state.withLock { Array($0.history.reversed().prefix(limit)) }
    }

    public func acquireLease(name: String, holder: String, ttlMs: Int64, nowMs: Int64) async throws -> Bool {
        state.withLock { s in
            if let lease = s.lease, lease.holder != holder, lease.expires >= nowMs { return false }
            s.lease = (holder, nowMs + ttlMs)
            return true
        }
    }

    public func releaseLease(name: String, holder: String) async throws {
        state.withLock { s in if s.lease?.holder == holder { s.lease = nil } }
    }

    public func saveSilence(id: UUID, encoded: [UInt8], endsAtMs: Int64, nowMs: Int64) async throws {
        state.withLock { $0.silences[id] = (encoded, endsAtMs) }
    }

    public func silences(endedAfterMs sinceMs: Int64) async throws -> [[UInt8]] {
        state.withLock { $0.silences.values.filter { $0.endsAt > sinceMs }.map(\.bytes) }
    }
}
