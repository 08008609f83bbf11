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
                    if slot.hash == hash && Int(slot.length) == count {
                        let known = keyBytes.baseAddress! + Int(slot.offset)
                        var i = 0
                        while i < count && known[i] == start[i] { i += 1 }
                        if i == count { return Int(slot.key) }
                    }
                    s = (s + 1) & mask
                }
            }
        }
    }

    /// FNV-1a over the key bytes.
    @inline(__always)
    private static func hash(_ start: UnsafePointer<UInt8>, _ count: Int) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for i in 0..<count {
            h = (h ^ UInt32(start[i])) &* 16_777_619
        }
        return h
    }
}
