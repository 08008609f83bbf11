import Collector

/// One commit's bucket increments in the binary form appended to the change stream (`P:changes`).
///
/// Layout, little-endian, repeated to the end: `u32` service length, service bytes, `i64` bucket, `u32` field
/// count, then per field `u32` length, field bytes (the hash field name), `u64` increment. Using the hash field
/// names keeps one parser (``HotFieldReader``) for hashes and changes alike.
struct ChangeRecord {
    // Fields arrive cell by cell (one series in one bucket), so a group per cell, written as it comes, needs no
    // dictionary; a (service, bucket) may have several groups, and decoding adds them up.
    private var bytes: [UInt8] = []
    /// Where the open group's field count goes, and the count so far.
    private var countAt = -1
    private var count: UInt32 = 0
    private var service = ""
    private var bucket = Int64.min

    /// Whether nothing was added.
    var isEmpty: Bool { bytes.isEmpty }

    /// Adds one increment of a bucket hash field.
    mutating func add(service: String, bucket: Int64, field: [UInt8], value: UInt64) {
        if countAt < 0 || bucket != self.bucket || service != self.service {
            closeGroup()
            self.service = service
            self.bucket = bucket
            Self.append(UInt32(truncatingIfNeeded: service.utf8.count), to: &bytes)
            bytes.append(contentsOf: service.utf8)
            Self.append(UInt64(bitPattern: bucket), to: &bytes)
            countAt = bytes.count
            Self.append(UInt32(0), to: &bytes)
        }
        count += 1
        Self.append(UInt32(truncatingIfNeeded: field.count), to: &bytes)
        bytes.append(contentsOf: field)
        Self.append(value, to: &bytes)
    }

    /// The encoded record.
    func encoded() -> [UInt8] {
        var copy = self
        copy.closeGroup()
        return copy.bytes
    }

    private mutating func closeGroup() {
        guard countAt >= 0 else { return }
        for i in 0..<4 { bytes[countAt + i] = UInt8(truncatingIfNeeded: count >> (8 * i)) }
        countAt = -1
        count = 0
    }

    /// The cells of an encoded record by bucket; nil when it is malformed.
    static func decode(_ blob: [UInt8]) -> [Int64: WindowData]? {
        var out: [Int64: WindowData] = [:]
        var at = 0
        func read<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard at + MemoryLayout<T>.size <= blob.count else { return nil }
            var value: T = 0
            for i in 0..<MemoryLayout<T>.size { value |= T(blob[at + i]) << (8 * i) }
            at += MemoryLayout<T>.size
            return value
        }
        func bytes(_ n: Int) -> ArraySlice<UInt8>? {
            guard at + n <= blob.count else { return nil }
            defer { at += n }
            return blob[at..<(at + n)]
        }
        // One reader per service for the whole record (``HotFieldReader/flush(into:)``).
        var readers: [HotFieldReader] = []
        var readerOf: [ByteKey: Int] = [:]
        while at < blob.count {
            guard let serviceLength = read(UInt32.self), let service = bytes(Int(serviceLength)),
                let bucket = read(UInt64.self), let count = read(UInt32.self)
            else { return nil }
            let r: Int
            if let known = readerOf[ByteKey(service)] {
                r = known
            } else {
                r = readers.count
                readers.append(HotFieldReader(service: String(decoding: service, as: UTF8.self)))
                readerOf[ByteKey(service)] = r
            }
            for _ in 0..<count {
                guard let length = read(UInt32.self), let field = bytes(Int(length)), let value = read(UInt64.self)
                else { return nil }
                readers[r].add(field: field, value: value)
            }
            readers[r].flush(into: &out[Int64(bitPattern: bucket), default: WindowData()])
        }
        return out
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        for i in 0..<MemoryLayout<T>.size { out.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }
}
