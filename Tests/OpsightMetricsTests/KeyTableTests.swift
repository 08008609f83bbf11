import Testing

@testable import OpsightMetrics

/// The decoder's key table hashes a key's length and three of its bytes and compares the bytes a word at a time: it
/// must still find exactly the known keys, and nothing that differs from one in any byte or in length.
@Suite struct KeyTableTests {
    static let aliases = ["lat": "duration_ms", "svc": "service", "http.route": "route", "x": "status"]

    func lookup(_ table: KeyTable, _ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBufferPointer { b in
            b.isEmpty ? nil : table.lookup(b.baseAddress!, b.count).map { table.keys[$0].name }
        }
    }

    @Test func everyKnownKeyIsFoundAndEveryNearMissIsNot() {
        let table = KeyTable(aliases: Self.aliases)
        let names = Set(table.keys.map(\.name))
        #expect(names.count == FieldKey.defaults.count + Self.aliases.count)
        var nearMisses = 0
        for name in names {
            let bytes = Array(name.utf8)
            #expect(lookup(table, bytes) == name)
            // One byte changed at each position, one byte more or less at each end: found only when that spells
            // another known key.
            var variants: [[UInt8]] = [Array(bytes.dropLast()), Array(bytes.dropFirst()), bytes + [UInt8(ascii: "_")]]
            for i in bytes.indices {
                for replacement in [UInt8(ascii: "_"), bytes[i] ^ 0x20, 0x00, 0xFF] where replacement != bytes[i] {
                    var v = bytes
                    v[i] = replacement
                    variants.append(v)
                }
            }
            for v in variants {
                let spelled = String(decoding: v, as: UTF8.self)
                let expected = names.contains(spelled) && !v.isEmpty ? spelled : nil
                #expect(lookup(table, v) == expected, "\(spelled.debugDescription)")
                nearMisses += 1
            }
        }
        #expect(nearMisses > 900)
    }

    @Test func bytesCompareEqualExactlyWhenTheyAre() {
        for count in 1...40 {
            let a = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            var copy = a
            copy.append(0)  // another buffer with the same bytes
            a.withUnsafeBufferPointer { pa in
                copy.withUnsafeBufferPointer { pc in
                    #expect(KeyTable.same(pa.baseAddress!, pc.baseAddress!, count), "count \(count)")
                }
                for i in 0..<count {
                    var b = a
                    b[i] ^= 0x01
                    b.withUnsafeBufferPointer { pb in
                        #expect(!KeyTable.same(pa.baseAddress!, pb.baseAddress!, count), "count \(count), byte \(i)")
                    }
                }
            }
        }
    }
}
