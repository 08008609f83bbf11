import Synchronization

/// What one collector committed in each slot of a Redis Cluster in the current hot epoch, so that a slot that lost
/// writes — a shard failed over to a replica that never received them — is told apart: its marker
/// (`P:{tag}:once:<collector>`) is then below the last position this collector committed there.
///
/// Only the collector writes its markers, so a marker can only go backwards by a loss. Every guarded commit checks
/// the markers of the slots it writes (``RedisSlotGuard/minimum``); the slots it does not write are checked when the
/// slot map changed (``topologyChanged()``), at the recovery's next look at the store.
final class HotSlotTracker: Sendable {
    private struct State {
        var epoch: String?
        /// Per slot: the last position committed there, and when (ms).
        var committed: [Int: (position: UInt64, atMs: Int64)] = [:]
        /// Changes of the slot map seen, and how many of them the markers were checked after.
        var changes = 0
        var checked = 0
        /// A loss found in `epoch`.
        var lost: String?
        /// Slots that refused a commit because their fence was still `rebuild:<epoch>`: the rebuild was finishing,
        /// or a failover took the fence's flip back. Checked once no rebuild holds the lock.
        var fenced: Set<Int> = []
    }

    /// Markers expire a day after their last write; an entry older than this is no longer checked.
    static let horizonMs: Int64 = 20 * 3_600_000

    private let state = Mutex(State())

    /// Commits are made in `epoch` now: what was tracked for another epoch (a store since rebuilt) is forgotten. A
    /// loss found before any epoch (by finishing a flush the previous run left) carries over to the first one.
    func begin(epoch: String?) {
        state.withLock { s in
            guard s.epoch != epoch else { return }
            let carried = s.epoch == nil ? s.lost : nil
            s = State(epoch: epoch, changes: s.changes, checked: s.changes, lost: carried)
        }
    }

    /// The least marker each tracked slot must hold.
    func minimums(nowMs: Int64) -> [Int: UInt64] {
        state.withLock { s in
            s.committed.compactMapValues { $0.atMs > nowMs - Self.horizonMs ? $0.position : nil }
        }
    }

    /// `slots` hold everything up to `position` (committed in `epoch`).
    func committed(_ slots: some Sequence<Int>, position: UInt64, epoch: String, atMs: Int64) {
        state.withLock { s in
            guard s.epoch == epoch else { return }
            for slot in slots { s.committed[slot] = (position, atMs) }
        }
    }

    /// The slot map changed: a shard may have failed over.
    func topologyChanged() {
        state.withLock { $0.changes += 1 }
    }

    /// A loss was found in `epoch` (by a commit), or in the epoch tracked now (`epoch` nil: by a flush left halfway
    /// that could not be finished).
    func found(_ reason: String, epoch: String?) {
        state.withLock { s in
            if epoch == nil || s.epoch == epoch, s.lost == nil { s.lost = reason }
        }
    }

    /// `slots` refused a commit in `epoch` with their fence still at that epoch's rebuild.
    func fencedByRebuild(_ slots: some Sequence<Int>, epoch: String) {
        state.withLock { s in
            if s.epoch == epoch { s.fenced.formUnion(slots) }
        }
    }

    /// What to check in `epoch`: the loss already found, or the slots (with their minimum) to read the markers of
    /// and the change of the slot map that prompts it, and the slots whose fence to read; nil when there is nothing to
    /// check.
    func pending(epoch: String, nowMs: Int64) -> Pending? {
        state.withLock { s in
            guard s.epoch == epoch else { return nil }
            if let lost = s.lost { return Pending(lost: lost, slots: [], change: s.changes, fenced: []) }
            guard s.changes > s.checked || !s.fenced.isEmpty else { return nil }
            let slots =
                s.changes > s.checked
                ? s.committed.compactMap { slot, c in c.atMs > nowMs - Self.horizonMs ? (slot, c.position) : nil } : []
            return Pending(lost: nil, slots: slots, change: s.changes, fenced: s.fenced)
        }
    }

    /// What ``pending(epoch:nowMs:)`` asks to check.
    struct Pending {
        var lost: String?
        var slots: [(slot: Int, position: UInt64)]
        var change: Int
        var fenced: Set<Int>
    }

    /// The fences of `slots` were read with no rebuild under way.
    func fencesChecked(_ slots: Set<Int>, epoch: String) {
        state.withLock { s in
            if s.epoch == epoch { s.fenced.subtract(slots) }
        }
    }

    /// The markers were read after change `change` of the slot map: `lost` says what was missing, if anything.
    func verified(epoch: String, change: Int, lost: String?) {
        state.withLock { s in
            guard s.epoch == epoch else { return }
            s.checked = max(s.checked, change)
            if s.lost == nil { s.lost = lost }
        }
    }
}
