/// One commit's increments of one hot hash (a bucket hash or a service's totals) written as a single field, a *part*,
/// instead of one `HINCRBY` per field.
///
/// Why: shipping a file of the last hour, each hot commit held ~26 000 increments, and Redis executing them one
/// after another (~60 ms of its CPU a commit on the benchmark machine) was the chain "visible" waited for; the same
/// cells as one `HSET key <part> <packed>` per key cost Redis ~3 % of that (`Benchmarks/redis_layout_cost.py`,
/// docs/benchmarks.md). Readers add a part's entries exactly as they add hash fields (``HotFieldReader``), so a hash
/// may hold plain fields (written before this layout), parts, or both, and reads the same sums.
///
/// A part's field name is ``marker`` and 8 random bytes, made once per commit: a retried commit writes the same name,
/// so `HSET` makes it idempotent. Hash field names of the plain layout start with `r`, `j` or `l`, never ``marker``.
/// The value is a sequence of entries: LEB128 length of the field name, the name (a plain layout field name:
/// `r␟route␟method␟stat`, …), LEB128 increment. Parts pile up as commits touch a key; ``RedisHotStore`` folds a
/// key's parts into one (``merge(_:)``) once its bucket has ended (``RedisHotStore/tidy(while:)``) or it has
/// ``PartFolds/maxParts`` parts.
///
/// Hand-written rather than a general serialiser: it is on the commit's hot path, and the format is two varints and
/// the bytes the field name already has.
enum HotPart {
    /// The first byte of a part's field name (ASCII record separator).
    static let marker: UInt8 = 0x1e

    /// Whether `field` names a part.
    static func isPart(_ field: some Collection<UInt8>) -> Bool { field.first == marker }

    /// A new part name: ``marker`` and 8 random bytes.
    static func newName() -> [UInt8] {
        var name: [UInt8] = [marker]
        var r = UInt64.random(in: .min ... .max)
        for _ in 0..<8 {
            name.append(UInt8(truncatingIfNeeded: r))
            r >>= 8
        }
        return name
    }

    /// Appends one entry: `field` incremented by `value`.
    @inline(__always)
    static func append(field: some Collection<UInt8>, value: UInt64, to out: inout [UInt8]) {
        appendVarint(UInt64(field.count), to: &out)
        out.append(contentsOf: field)
        appendVarint(value, to: &out)
    }

    /// Calls `body` with each entry of `blob`; false (after the entries before it) when the blob is malformed.
    @discardableResult
    static func forEachEntry(_ blob: ArraySlice<UInt8>, _ body: (ArraySlice<UInt8>, UInt64) -> Void) -> Bool {
        var at = blob.startIndex
        while at < blob.endIndex {
            guard let length = readVarint(blob, &at), length <= UInt64(blob.endIndex - at) else { return false }
            let end = at + Int(length)
            let field = blob[at..<end]
            at = end
            guard let value = readVarint(blob, &at) else { return false }
            body(field, value)
        }
        return true
    }

    /// One part holding the sums of `blobs`' entries per field name (wrapping on overflow, as `HINCRBY` would fail
    /// instead: a count past 2⁶⁴ is not reachable). Entries keep the order of their first appearance.
    static func merge(_ blobs: [ArraySlice<UInt8>]) -> [UInt8] {
        // Room for the entries from the start (an entry is ~20–40 bytes): a shipped hour's bucket hash holds thousands,
        // and growing the table from empty rehashed every name several times.
        let bytes = blobs.reduce(0) { $0 + $1.count }
        var slots: [FieldName: Int] = [:]
        slots.reserveCapacity(bytes / 32)
        var fields: [ArraySlice<UInt8>] = []
        var sums: [UInt64] = []
        for blob in blobs {
            forEachEntry(blob) { field, value in
                let name = FieldName(field)
                if let slot = slots[name] {
                    sums[slot] &+= value
                } else {
                    slots[name] = fields.count
                    fields.append(field)
                    sums.append(value)
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes)
        for (field, sum) in zip(fields, sums) { append(field: field, value: sum, to: &out) }
        return out
    }

    /// A field name of a part, hashed as one run of bytes: `ArraySlice<UInt8>`'s own `hash(into:)` feeds the hasher
    /// one byte at a time, which was most of a fold's CPU (perf of a shipment into a collector holding the hour:
    /// `Hasher._combine` and the dictionary ~45 % of `foldParts`, docs/benchmarks.md).
    struct FieldName: Hashable {
        let bytes: ArraySlice<UInt8>

        init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

        func hash(into hasher: inout Hasher) {
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }

        static func == (a: FieldName, b: FieldName) -> Bool {
            a.bytes.count == b.bytes.count
                && a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in x.elementsEqual(y) } }
        }
    }

    @inline(__always)
    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    static func readVarint(_ blob: ArraySlice<UInt8>, _ at: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while at < blob.endIndex {
            let byte = blob[at]
            at += 1
            guard shift < 64, shift < 63 || byte <= 1 else { return nil }
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }
}
