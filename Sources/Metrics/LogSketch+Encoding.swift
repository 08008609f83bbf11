extension LogSketch {
    /// The current encoding version, the first byte of ``encoded()``.
    static let encodingVersion: UInt8 = 1

    /// A compact binary form for storage: version byte, varint zero count, varint bucket count, then per
    /// bucket a zigzag varint index delta (from 0, then from the previous index) and a varint count.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [Self.encodingVersion]
        bytes.reserveCapacity(3 + bucketCount * 3)
        Self.appendVarint(zeroCount, to: &bytes)
        Self.appendVarint(UInt64(bucketCount), to: &bytes)
        var previous: Int64 = 0
        forEachBucket { index, count in
            let delta = Int64(index) - previous
            Self.appendVarint(UInt64(bitPattern: (delta << 1) ^ (delta >> 63)), to: &bytes)
            Self.appendVarint(count, to: &bytes)
            previous = Int64(index)
        }
        return bytes
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

    /// Appends `value` as a little-endian base-128 varint.
    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
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
