extension LogSketch {
    /// The current encoding version, the first byte of ``encoded()``.
    static let encodingVersion: UInt8 = 1

    /// A compact binary form for storage: version byte, varint zero count, varint bucket count, then per
    /// bucket a zigzag varint index delta (from 0, then from the previous index) and a varint count.
    public func encoded() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: encodedBound) { buffer, count in
            count = encode(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// The most bytes ``encode(into:)`` writes: the version, two varints, and per bucket an index delta (at most 33
    /// bits, 5 bytes) and a count.
    public var encodedBound: Int { 1 + 10 + 10 + bucketCount * 15 }

    /// Writes ``encoded()``'s bytes into `buffer` (at least ``encodedBound`` long) and returns how many it wrote: for
    /// a store that writes many sketches into one buffer, without an array per sketch.
    public func encode(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= encodedBound, "sketch encoding: buffer too small")
        var w = VarintWriter(p: buffer.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self))
        w.p[0] = Self.encodingVersion
        w.n = 1
        w.varint(zeroCount)
        w.varint(UInt64(bucketCount))
        withBuckets { indices, counts in
            var previous: Int64 = 0
            for i in 0..<indices.count {
                let delta = Int64(indices[i]) - previous
                w.varint(UInt64(bitPattern: (delta << 1) ^ (delta >> 63)))
                w.varint(counts[i])
                previous = Int64(indices[i])
            }
        }
        return w.n
    }

    /// Writes little-endian base-128 varints through a pointer.
    private struct VarintWriter {
        let p: UnsafeMutablePointer<UInt8>
        var n = 0

        @inline(__always)
        mutating func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                p[n] = UInt8(truncatingIfNeeded: value) | 0x80
                n += 1
                value >>= 7
            }
            p[n] = UInt8(value)
            n += 1
        }
    }

    /// Decodes the output of ``encoded()``, rejecting anything that is not a well-formed sketch.
    public init(decoding bytes: some Collection<UInt8>) throws(SketchDecodingError) {
        var iterator = bytes.makeIterator()
        guard let version = iterator.next() else { throw SketchDecodingError(reason: "empty input") }
        guard version == Self.encodingVersion else {
            throw SketchDecodingError(reason: "unsupported version \(version)")
        }
        self.init()
        addZero(count: try Self.readVarint(&iterator))
        let bucketCount = try Self.readVarint(&iterator)
        var previous: Int64 = 0
        var bucket: UInt64 = 0
        while bucket < bucketCount {
            let zigzag = try Self.readVarint(&iterator)
            let delta = Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
            let (index, overflow) = previous.addingReportingOverflow(delta)
            guard !overflow, index >= Int64(Self.minIndex), index <= Int64(Self.maxIndex) else {
                throw SketchDecodingError(reason: "bucket index out of range")
            }
            guard bucket == 0 || index > previous else {
                throw SketchDecodingError(reason: "bucket indices not increasing")
            }
            let bucketValues = try Self.readVarint(&iterator)
            guard bucketValues > 0 else { throw SketchDecodingError(reason: "empty bucket") }
            guard count.addingReportingOverflow(bucketValues).overflow == false else {
                throw SketchDecodingError(reason: "total count overflows")
            }
            add(bucket: Int32(index), count: bucketValues)
            previous = index
            bucket += 1
        }
        guard iterator.next() == nil else { throw SketchDecodingError(reason: "trailing bytes") }
    }

    /// Reads a little-endian base-128 varint of at most 64 bits.
    private static func readVarint<I: IteratorProtocol<UInt8>>(_ iterator: inout I) throws(SketchDecodingError)
        -> UInt64
    {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = iterator.next() else { throw SketchDecodingError(reason: "truncated input") }
            guard shift < 64, shift < 63 || byte <= 1 else {
                throw SketchDecodingError(reason: "varint overflows 64 bits")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }
}
