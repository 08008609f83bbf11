/// An immutable open-addressing hash table from key bytes to ``FieldKey``, built once per decoder.
///
/// Lookups hash the key bytes in place and compare them with `memcmp`-style loops, so matching a key
/// never creates a `String`. Keys longer than the longest known key are rejected before hashing, which
/// makes the common case of long unknown keys nearly free.
struct KeyTable: Sendable {
    /// One slot: where the key's bytes are in `keyBytes` and which entry of `keys` it maps to.
    private struct Slot: Sendable {
        var hash: UInt32 = 0
        var offset: Int32 = 0
        var length: Int32 = 0
        var key: Int32 = -1
    }

    /// The known keys; a lookup returns an index into this array.
    let keys: [FieldKey]
    /// The UTF-8 bytes of all keys, back to back.
    private let keyBytes: [UInt8]
    /// The hash slots; the count is a power of two at least four times the number of keys.
    private let slots: [Slot]
    /// The length of the longest key in bytes.
    let maxKeyLength: Int

    /// Builds the table from the default keys plus `aliases` (alias → any known key name).
    ///
    /// An alias whose target is not a known key, or that redefines a known key, is ignored; configuration
    /// loading should validate with ``EventDecoder/fieldNames`` to report such mistakes.
    init(aliases: [String: String]) {
        var keys = FieldKey.defaults
        var byName: [String: FieldKey] = [:]
        for key in keys { byName[key.name] = key }
        for (alias, target) in aliases.sorted(by: { $0.key < $1.key }) {
            guard !alias.isEmpty, byName[alias] == nil, let known = byName[target] else { continue }
            let key = known.alias(named: alias)
            keys.append(key)
            byName[alias] = key
        }
        var capacity = 16
        while capacity < keys.count * 4 { capacity *= 2 }
        var slots = [Slot](repeating: Slot(), count: capacity)
        var keyBytes: [UInt8] = []
        var maxKeyLength = 0
        for (index, key) in keys.enumerated() {
            let bytes = Array(key.name.utf8)
            let hash = bytes.withUnsafeBufferPointer { Self.hash($0.baseAddress!, $0.count) }
            var s = Int(hash) & (capacity - 1)
            while slots[s].key >= 0 { s = (s + 1) & (capacity - 1) }
            slots[s] = Slot(hash: hash, offset: Int32(keyBytes.count), length: Int32(bytes.count), key: Int32(index))
            keyBytes += bytes
            maxKeyLength = max(maxKeyLength, bytes.count)
        }
        self.keys = keys
        self.keyBytes = keyBytes
        self.slots = slots
        self.maxKeyLength = maxKeyLength
    }

    /// The index in ``keys`` of the key spelled by `count` bytes at `start`, or `nil` when unknown.
    @inline(__always)
    func lookup(_ start: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        guard count > 0 && count <= maxKeyLength else { return nil }
        let hash = Self.hash(start, count)
        return slots.withUnsafeBufferPointer { slots in
            keyBytes.withUnsafeBufferPointer { keyBytes in
                let mask = slots.count - 1
                var s = Int(hash) & mask
                while true {
                    let slot = slots[s]
                    guard slot.key >= 0 else { return nil }
                    if slot.hash == hash && Int(slot.length) == count
                        && Self.same(keyBytes.baseAddress! + Int(slot.offset), start, count)
                    {
                        return Int(slot.key)
                    }
                    s = (s + 1) & mask
                }
            }
        }
    }

    /// A hash of the length and the first two and last bytes (`count` ≥ 1): every key of a line is looked up, and
    /// FNV-1a over all its bytes, byte by byte, was most of the decoder's own time per key (perf of
    /// Benchmarks/ingest_bench.sh). The known keys differ in those bytes, and a match is confirmed by comparing all
    /// of them; the table's load stays under a quarter whatever a line holds, so unknown keys that share them cost a
    /// short probe, not a flood.
    @inline(__always)
    static func hash(_ start: UnsafePointer<UInt8>, _ count: Int) -> UInt32 {
        let first = UInt32(start[0])
        let second = UInt32(start[count > 1 ? 1 : 0])
        let last = UInt32(start[count - 1])
        var h = UInt32(truncatingIfNeeded: count) &* 0x9E37_79B1
        h ^= (first | second << 8 | last << 16) &* 0x85EB_CA77
        return h ^ (h >> 15)
    }

    /// Whether the `count` bytes at `a` and `b` are equal: a word at a time (the last word overlapping the one before
    /// it), never reading outside either run.
    @inline(__always)
    static func same(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let (ra, rb) = (UnsafeRawPointer(a), UnsafeRawPointer(b))
        if count >= 8 {
            var i = 0
            while i + 8 <= count {
                guard
                    ra.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                        == rb.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                else { return false }
                i += 8
            }
            return i == count
                || ra.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                    == rb.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        if count >= 4 {
            return ra.loadUnaligned(as: UInt32.self) == rb.loadUnaligned(as: UInt32.self)
                && ra.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
                    == rb.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        var i = 0
        while i < count {
            guard a[i] == b[i] else { return false }
            i += 1
        }
        return true
    }
}
