import Atomics

import struct Synchronization.Mutex

/// The label triples of every series key this process has made, each numbered once: what ``RequestKey`` and
/// ``JobKey`` hold instead of their three strings.
///
/// Hand-written rather than a `Mutex` around a dictionary because every ingested event looks its series up here, on
/// the event-loop threads and on the flush's read-back at once: a lookup of a triple seen before takes no lock and
/// writes nothing shared (no reference count either), only a hash of the three strings and a probe. Only a triple
/// never seen takes the lock.
///
/// - Numbers → labels: segments of 4 096 entries, allocated once and never moved or freed, so a number read from
///   anywhere finds its labels without a lock.
/// - Labels → numbers: an open-addressing table of 64-bit slots (the hash's high half and the number; 0 is empty),
///   written once each with release ordering after the labels. A fuller table is replaced by one twice the size;
///   the old one stays allocated (at most as much again), so a lookup still probing it finds what it held and,
///   missing, takes the lock and looks in the new one. The hash is Swift's seeded `Hasher`, so labels chosen to
///   collide cost what they cost any dictionary.
///
/// Nothing is ever removed: a series' number means the same labels for the life of the process. How many there are
/// is bounded by the cardinality guards (``IdentityGuard``, ``RouteGuard``), which the stores are bounded by too;
/// each costs about 100 bytes here besides its strings (shared with the keys' other holders).
public final class SeriesLabels: @unchecked Sendable {
    /// The one table of the process.
    public static let shared = SeriesLabels()

    /// A series' three labels, in the order its key names them.
    public struct Labels: Sendable {
        public let first: String
        public let second: String
        public let third: String
    }

    private static let segmentShift = 12
    private static let segmentSize = 1 << segmentShift
    /// 2¹⁶ segments of 4 096: 268 million series, far past anything the guards let through.
    private static let maxSegments = 1 << 16

    private typealias Slot = UnsafeAtomic<UInt64>.Storage

    /// Segment pointers; a segment is allocated before the first number in it is published.
    private let segments: UnsafeMutablePointer<UnsafeMutablePointer<Labels>?>
    /// The current index: slot 0 holds its mask (capacity − 1), slots 1… the entries.
    private let index: UnsafeAtomic<UnsafeMutablePointer<Slot>>

    private struct State {
        /// Numbers given so far (numbers start at 1).
        var count: UInt32 = 0
        /// Replaced indexes, kept for lookups that may still probe them.
        var retired: [UnsafeMutablePointer<Slot>] = []
    }

    private let state = Mutex(State())
    /// The highest number given, stored once its labels are in place.
    private let given = ManagedAtomic<UInt32>(0)

    /// An empty table (``shared`` is the one keys use; others are for tests).
    public init() {
        segments = .allocate(capacity: Self.maxSegments)
        segments.initialize(repeating: nil, count: Self.maxSegments)
        index = .create(Self.makeIndex(capacity: 1 << 12))
    }

    deinit {
        let (count, retired) = state.withLock { ($0.count, $0.retired) }
        for k in 0...(Int(count) >> Self.segmentShift) {
            guard let segment = segments[k] else { continue }
            let from = max(k << Self.segmentShift, 1)
            let to = min((k + 1) << Self.segmentShift, Int(count) + 1)
            if to > from { (segment + (from & (Self.segmentSize - 1))).deinitialize(count: to - from) }
            segment.deallocate()
        }
        segments.deallocate()
        for slots in retired { slots.deallocate() }
        index.load(ordering: .relaxed).deallocate()
        index.destroy()
    }

    private static func makeIndex(capacity: Int) -> UnsafeMutablePointer<Slot> {
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: capacity + 1)
        slots.initialize(to: Slot(UInt64(capacity - 1)))
        (slots + 1).initialize(repeating: Slot(0), count: capacity)
        return slots
    }

    /// The labels of series number `id` (one a key holds).
    @inline(__always)
    public subscript(id: UInt32) -> Labels {
        let i = Int(id)
        return segments[i >> Self.segmentShift].unsafelyUnwrapped[i & (Self.segmentSize - 1)]
    }

    /// The number of the series labelled `first`, `second`, `third`, given now if they have none yet.
    @inline(__always)
    public func id(_ first: String, _ second: String, _ third: String) -> UInt32 {
        let hash = Self.hash(first, second, third)
        if let id = find(first, second, third, hash: hash, in: index.load(ordering: .acquiring)) { return id }
        return add(first, second, third, hash: hash)
    }

    /// Whether `id` is a number this table gave (whose labels ``subscript(id:)`` reads).
    @inline(__always)
    public func contains(_ id: UInt32) -> Bool { id != 0 && id <= given.load(ordering: .acquiring) }

    /// How many series have a number.
    public var count: Int { Int(state.withLock { $0.count }) }

    @inline(__always)
    private func find(
        _ first: String, _ second: String, _ third: String, hash: Int, in slots: UnsafeMutablePointer<Slot>
    ) -> UInt32? {
        let mask = Int(UnsafeAtomic<UInt64>(at: slots).load(ordering: .relaxed))
        let tag = UInt64(UInt(bitPattern: hash) >> 32) << 32
        var i = hash & mask
        while true {
            let slot = UnsafeAtomic<UInt64>(at: slots + 1 + i).load(ordering: .acquiring)
            if slot == 0 { return nil }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let id = UInt32(truncatingIfNeeded: slot)
                let n = Int(id)
                let labels = segments[n >> Self.segmentShift].unsafelyUnwrapped + (n & (Self.segmentSize - 1))
                if labels.pointee.second == second, labels.pointee.first == first, labels.pointee.third == third {
                    return id
                }
            }
            i = (i + 1) & mask
        }
    }

    private func add(_ first: String, _ second: String, _ third: String, hash: Int) -> UInt32 {
        state.withLock { s in
            // Another thread may have added them since this one looked.
            var slots = index.load(ordering: .relaxed)
            if let id = find(first, second, third, hash: hash, in: slots) { return id }
            precondition(Int(s.count) + 1 < Self.maxSegments * Self.segmentSize, "series label table full")
            s.count += 1
            let id = s.count
            let n = Int(id)
            if segments[n >> Self.segmentShift] == nil {
                segments[n >> Self.segmentShift] = .allocate(capacity: Self.segmentSize)
            }
            (segments[n >> Self.segmentShift].unsafelyUnwrapped + (n & (Self.segmentSize - 1)))
                .initialize(to: Labels(first: first, second: second, third: third))
            given.store(id, ordering: .releasing)
            let mask = Int(UnsafeAtomic<UInt64>(at: slots).load(ordering: .relaxed))
            if n * 2 > mask + 1 {
                // Over half full: a table twice the size with every entry, published before the old one retires.
                let bigger = Self.makeIndex(capacity: (mask + 1) * 2)
                for j in 0...mask {
                    let slot = UnsafeAtomic<UInt64>(at: slots + 1 + j).load(ordering: .relaxed)
                    if slot != 0 { Self.insert(slot, hash: rehash(slot), into: bigger) }
                }
                index.store(bigger, ordering: .releasing)
                s.retired.append(slots)
                slots = bigger
            }
            Self.insert(UInt64(UInt(bitPattern: hash) >> 32) << 32 | UInt64(id), hash: hash, into: slots)
            return id
        }
    }

    /// The hash of the labels in `slot`, for moving it to a bigger index.
    private func rehash(_ slot: UInt64) -> Int {
        let labels = self[UInt32(truncatingIfNeeded: slot)]
        return Self.hash(labels.first, labels.second, labels.third)
    }

    @inline(__always)
    private static func hash(_ first: String, _ second: String, _ third: String) -> Int {
        var hasher = Hasher()
        hasher.combine(first)
        hasher.combine(second)
        hasher.combine(third)
        return hasher.finalize()
    }

    private static func insert(_ slot: UInt64, hash: Int, into slots: UnsafeMutablePointer<Slot>) {
        let mask = Int(UnsafeAtomic<UInt64>(at: slots).load(ordering: .relaxed))
        var i = hash & mask
        while UnsafeAtomic<UInt64>(at: slots + 1 + i).load(ordering: .relaxed) != 0 { i = (i + 1) & mask }
        UnsafeAtomic<UInt64>(at: slots + 1 + i).store(slot, ordering: .releasing)
    }
}
