import Synchronization

/// The identity strings (`service`, `route`) an ingest decoder has seen, shared by the events that repeat them.
///
/// Methods are not kept: they fit in 15 bytes, where a `String` is stored inline and there is nothing to share.
///
/// At 10 000 series every request names a route that earlier requests named too. Making a fresh `String` for it
/// costs an allocation and a free per event, and the lookup of the event's series number (the collector's
/// `SeriesLabels`) compares it with the stored labels. A string taken from this table is the same object as the one
/// stored by earlier batches, which `String ==` recognises without reading the bytes (measured at full HTTP ingest:
/// docs/benchmarks.md).
///
/// Readers never lock: a batch takes the current ``Snapshot`` (immutable) once, looks strings up in it by their raw
/// bytes, and notes what it did not find (``Batch``). At the end of the batch the new strings are published in a new
/// snapshot. The table holds at most ``capacity`` strings of at most ``maxStringBytes`` each; past that, strings
/// are made per event as before, so a sender of endless distinct names costs a bounded table and no more.
public final class IdentityStrings: Sendable {
    /// The most strings kept.
    public static let capacity = 1 << 15
    /// Longer strings are never kept (identity fields are at most 256 bytes; routes are rarely past 100).
    public static let maxStringBytes = 128

    /// An immutable open-addressing table of strings keyed by their bytes.
    public final class Snapshot: Sendable {
        fileprivate struct Slot: Sendable {
            var hash: Int
            var string: String
        }

        fileprivate let slots: [Slot?]
        fileprivate let count: Int

        fileprivate init(slots: [Slot?], count: Int) {
            self.slots = slots
            self.count = count
        }

        /// The stored string spelled by `bytes`, or nil.
        @inline(__always)
        fileprivate func find(_ bytes: UnsafeRawBufferPointer, hash: Int) -> String? {
            slots.withUnsafeBufferPointer { Self.find(bytes, hash: hash, in: $0) }
        }

        @inline(__always)
        fileprivate static func find(
            _ bytes: UnsafeRawBufferPointer, hash: Int, in slots: UnsafeBufferPointer<Slot?>
        ) -> String? {
            guard !slots.isEmpty else { return nil }
            let mask = slots.count - 1
            var i = hash & mask
            while let slot = slots[i] {
                if slot.hash == hash, equal(slot.string, bytes) { return slot.string }
                i = (i + 1) & mask
            }
            return nil
        }

        @inline(__always)
        private static func equal(_ string: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
            let utf8 = string.utf8
            guard utf8.count == bytes.count else { return false }
            return utf8.withContiguousStorageIfAvailable { stored in
                stored.elementsEqual(bytes)
            } ?? utf8.elementsEqual(bytes)
        }
    }

    /// One batch's view: the snapshot it looks in and the strings it made that the snapshot lacked.
    public final class Batch {
        fileprivate let snapshot: Snapshot
        fileprivate var made: [Snapshot.Slot] = []

        fileprivate init(snapshot: Snapshot) {
            self.snapshot = snapshot
        }

        /// The string spelled by `bytes` (valid UTF-8, as the scanner checked): the stored one when there is one.
        public func string(_ bytes: UnsafeRawBufferPointer) -> String {
            guard bytes.count <= IdentityStrings.maxStringBytes, bytes.count > 15 else {
                // Up to 15 bytes a String is stored inline: nothing to share.
                return String(decoding: bytes, as: UTF8.self)
            }
            var hasher = Hasher()
            hasher.combine(bytes: bytes)
            let hash = hasher.finalize()
            if let stored = snapshot.find(bytes, hash: hash) { return stored }
            let made = String(decoding: bytes, as: UTF8.self)
            if snapshot.count + self.made.count < IdentityStrings.capacity {
                self.made.append(Snapshot.Slot(hash: hash, string: made))
            }
            return made
        }
    }

    private let current: Mutex<Snapshot>

    /// An empty table.
    public init() {
        current = Mutex(Snapshot(slots: [], count: 0))
    }

    /// Starts a batch on the current snapshot.
    public func batch() -> Batch {
        Batch(snapshot: current.withLock { $0 })
    }

    /// Publishes the strings `batch` made, unless another batch published them first.
    public func finish(_ batch: Batch) {
        guard !batch.made.isEmpty else { return }
        current.withLock { snapshot in
            var slots = snapshot.slots
            var count = snapshot.count
            let needed = min(count + batch.made.count, Self.capacity)
            var size = max(slots.count, 64)
            while size < needed * 2 { size *= 2 }
            if size != slots.count {
                let old = slots
                slots = [Snapshot.Slot?](repeating: nil, count: size)
                for case let slot? in old { Self.insert(slot, into: &slots) }
            }
            for slot in batch.made where count < Self.capacity {
                // Several events of the batch, or another batch, may have made the same string.
                var string = slot.string
                let exists = string.withUTF8 { bytes in
                    slots.withUnsafeBufferPointer {
                        Snapshot.find(UnsafeRawBufferPointer(bytes), hash: slot.hash, in: $0) != nil
                    }
                }
                if exists { continue }
                Self.insert(slot, into: &slots)
                count += 1
            }
            snapshot = Snapshot(slots: slots, count: count)
        }
    }

    private static func insert(_ slot: Snapshot.Slot, into slots: inout [Snapshot.Slot?]) {
        let mask = slots.count - 1
        var i = slot.hash & mask
        while slots[i] != nil { i = (i + 1) & mask }
        slots[i] = slot
    }

    /// How many strings are kept.
    public var count: Int { current.withLock { $0.count } }
}
