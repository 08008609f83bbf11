import Foundation

/// Bytes as a dictionary key, hashed in one call.
///
/// `ArraySlice<UInt8>`'s own `hash(into:)` feeds the hasher one byte at a time: keyed by it, the series lookups of a
/// change record spent ~40 % of its decoding in `Hasher` (profile of a shipment of the last hour, docs/benchmarks.md).
/// Equal bytes hash alike whatever array they are a slice of.
struct ByteKey: Hashable {
    let bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    static func == (a: ByteKey, b: ByteKey) -> Bool { same(a.bytes, b.bytes) }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Whether two slices hold the same bytes.
    static func same(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }
}
