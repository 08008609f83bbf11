import Foundation
import Synchronization

/// What one collector committed in each slot of a Redis Cluster in the current hot epoch, so that a slot that lost
/// writes — a shard failed over to a replica that never received them — is told apart: its marker
/// (`P:{tag}:once:<collector>`) is then below the last position this collector committed there.
///
/// Only the collector writes its markers, so a marker can only go backwards by a loss. Every guarded commit checks
/// the markers of the slots it writes (``RedisSlotGuard/minimum``); the slots it does not write are checked when the
/// slot map changed (``topologyChanged()``), at the recovery's next look at the store.
///
/// With a `path` (`<wal>/hot-slots` in `opsight serve`) what was committed per slot outlives the process: it is
/// written after each commit that lands, and read back at start. A collector that restarts in the same epoch then
/// checks every marker it had committed (a shard may have failed over while it was down) and guards its commits
/// with the same minimums, instead of starting blind and missing a loss confined to its own slots. What it cannot
/// know is a commit that landed in the moment between its `EXEC`s and the file's write (a `kill -9` exactly there).
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

    /// What the file held at start, taken up by the first ``begin(epoch:)`` or ``pending(epoch:nowMs:)`` of the
    /// same epoch.
    private struct Saved: Sendable {
        var epoch: String
        var committed: [Int: (position: UInt64, atMs: Int64)]
    }

    /// Markers expire a day after their last write; an entry older than this is no longer checked.
    static let horizonMs: Int64 = 20 * 3_600_000

    private let state = Mutex(State())
    private let saved: Mutex<Saved?>
    private let path: String?

    /// A tracker that keeps what it tracks in the file at `path` (nil: in memory only), starting from what the file
    /// holds. A file that cannot be read is ignored: the tracker then starts empty, as without one.
    init(path: String? = nil) {
        self.path = path
        self.saved = Mutex(path.flatMap(Self.load))
    }

    /// Commits are made in `epoch` now: what was tracked for another epoch (a store since rebuilt) is forgotten. A
    /// loss found before any epoch (by finishing a flush the previous run left) carries over to the first one. The
    /// first epoch of a process takes up what its previous run saved for that epoch, to be checked at once.
    func begin(epoch: String?) {
        let restored = saved.withLock { saved -> Saved? in
            defer { saved = nil }
            return saved
        }
        state.withLock { s in
            guard s.epoch != epoch else { return }
            let carried = s.epoch == nil ? s.lost : nil
            let fresh = s.epoch == nil
            s = State(epoch: epoch, changes: s.changes, checked: s.changes, lost: carried)
            if fresh, let restored, restored.epoch == epoch, !restored.committed.isEmpty {
                // The shards may have failed over while this process was not running: check every marker.
                s.committed = restored.committed
                s.changes += 1
            }
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
        let snapshot = state.withLock { s -> Saved? in
            guard s.epoch == epoch else { return nil }
            for slot in slots { s.committed[slot] = (position, atMs) }
            s.committed = s.committed.filter { $0.value.atMs > atMs - Self.horizonMs }
            return Saved(epoch: epoch, committed: s.committed)
        }
        if let snapshot, let path { Self.save(snapshot, to: path) }
    }

    private static let header = "opsight hot slots v1"

    /// Writes the file whole (a temporary file renamed over it), so a reader never sees half of it. Not synced:
    /// it guards against a process that dies, and the page cache outlives that.
    private static func save(_ saved: Saved, to path: String) {
        var text = "\(header)\nepoch \(saved.epoch)\n"
        for (slot, c) in saved.committed.sorted(by: { $0.key < $1.key }) {
            text += "\(slot) \(c.position) \(c.atMs)\n"
        }
        try? Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private static func load(_ path: String) -> Saved? {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { return nil }
        let lines = text.split(separator: "\n")
        guard lines.count >= 2, lines[0] == header, lines[1].hasPrefix("epoch ") else { return nil }
        var saved = Saved(epoch: String(lines[1].dropFirst(6)), committed: [:])
        for line in lines.dropFirst(2) {
            let f = line.split(separator: " ")
            guard f.count == 3, let slot = Int(f[0]), (0..<RedisKeySlot.count).contains(slot),
                let position = UInt64(f[1]), let at = Int64(f[2])
            else { return nil }
            saved.committed[slot] = (position, at)
        }
        return saved
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
        if state.withLock({ $0.epoch == nil }) { begin(epoch: epoch) }
        return state.withLock { s in
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
