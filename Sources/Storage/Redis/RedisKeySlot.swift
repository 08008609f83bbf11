/// The Redis Cluster hash slot of a key, exactly as Redis computes it (cluster spec, "Key distribution model").
///
/// The slot is CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the key modulo 16384. When the key holds a `{`
/// followed later by a `}` with at least one byte between them, only the bytes between the first `{` and the first
/// `}` after it are hashed (the hash tag), so `a{user1}b` and `{user1}` share a slot while `{}x` hashes whole.
public enum RedisKeySlot {
    /// How many slots a Redis Cluster has.
    public static let count = 16384

    /// The slot of a key given as bytes.
    public static func slot<Bytes: Collection<UInt8>>(_ key: Bytes) -> Int {
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = key.index(after: open)
            if let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen {
                return Int(crc16(key[afterOpen..<close]) & 0x3FFF)
            }
        }
        return Int(crc16(key) & 0x3FFF)
    }

    /// The slot of a key given as a string (its UTF-8 bytes).
    public static func slot(_ key: String) -> Int { slot(key.utf8) }

    /// A short hash tag whose keys land in `slot`: `"{\(tag(for: s))}…"` is in slot `s`. Lets a caller put a key of its
    /// own (a marker) next to keys it did not name.
    public static func tag(for slot: Int) -> String { tags[slot] }

    private static let tags: [String] = {
        var out = [String?](repeating: nil, count: count)
        var missing = count
        var n = 0
        while missing > 0 {
            let candidate = String(n, radix: 36)
            let s = Int(crc16(candidate.utf8) & 0x3FFF)
            if out[s] == nil {
                out[s] = candidate
                missing -= 1
            }
            n += 1
        }
        return out.map { $0! }
    }()

    static func crc16<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int((crc >> 8) ^ UInt16(byte)) & 0xFF]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
