import Synchronization

/// A SplitMix64 generator shared by the journeys, so a seed reproduces the same choices for the same timings.
final class SeededRandom: Sendable {
    private let state: Mutex<UInt64>

    /// Creates a generator from `seed`.
    init(seed: UInt64) {
        state = Mutex(seed)
    }

    /// The next 64 random bits.
    func next() -> UInt64 {
        state.withLock { s in
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A value in 0..<1.
    func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Whether an event of probability `p` happens.
    func chance(_ p: Double) -> Bool { unit() < p }

    /// A value in 0..<n.
    func next(below n: Int) -> Int { Int(next() % UInt64(n)) }
}
