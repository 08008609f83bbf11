import PromQL

/// Alertmanager's (and Prometheus's `model`) fingerprint of a label set: FNV-1a 64 over the
/// names and values sorted by name, each followed by a 0xFF byte; printed as 16 hex digits.
public struct Fingerprint: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The 64-bit hash.
    public var value: UInt64

    private static let offset: UInt64 = 14_695_981_039_346_656_037
    private static let prime: UInt64 = 1_099_511_628_211

    /// The fingerprint of `labels`.
    public init(_ labels: Labels) {
        var hash = Self.offset
        func add(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* Self.prime
        }
        for label in labels.pairs {
            for byte in label.name.utf8 { add(byte) }
            add(0xFF)
            for byte in label.value.utf8 { add(byte) }
            add(0xFF)
        }
        value = hash
    }

    /// Wraps a hash.
    public init(value: UInt64) {
        self.value = value
    }

    /// 16 lower-case hex digits, as Alertmanager prints fingerprints.
    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Orders by hash.
    public static func < (lhs: Fingerprint, rhs: Fingerprint) -> Bool { lhs.value < rhs.value }
}
