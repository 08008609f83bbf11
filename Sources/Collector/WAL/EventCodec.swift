import OpsightMetrics

/// Compact binary form of normalised events for write-ahead-log records.
///
/// The log keeps events after decoding, aliasing, route normalisation and the cardinality guard, with the
/// arrival time already resolved into `timestampMs`: a replay re-aggregates exactly what was acknowledged,
/// whatever the configuration is at restart.
public enum EventCodec {
    private static let version: UInt8 = 1

    /// Encodes a batch of events as one record payload.
    ///
    /// Into a buffer sized by a first pass (strings' lengths exact, numbers at their widest), through a pointer:
    /// appending byte by byte to an array checked capacity and uniqueness at every byte (~4 % of the collector at full
    /// HTTP ingest, docs/benchmarks.md).
    public static func encode(_ events: [Event]) -> [UInt8] {
        events.withUnsafeBufferPointer { events in
            var bound = 1 + maxVarint
            for i in events.indices { bound += maxBytes(events.baseAddress.unsafelyUnwrapped + i) }
            return [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
                var w = Writer(p: buffer.baseAddress!)
                w.byte(version)
                w.varint(UInt64(events.count))
                for i in events.indices { encode(events.baseAddress.unsafelyUnwrapped + i, into: &w) }
                count = w.p - buffer.baseAddress!
                precondition(count <= bound, "event codec: wrote \(count) bytes into \(bound)")
            }
        }
    }

    /// The most bytes a varint takes.
    private static let maxVarint = 10

    /// The most bytes ``encode(_:into:)`` writes for `e`.
    private static func maxBytes(_ e: UnsafePointer<Event>) -> Int {
        // Time, kind, mask, four numbers, two one-byte enums; then each string's length prefix and bytes.
        var n = maxVarint + 1 + 3 + 4 * maxVarint + 2
        func add(_ s: String?) { if let s { n += maxVarint + s.utf8.count } }
        add(e.pointee.service)
        add(e.pointee.route)
        add(e.pointee.method)
        add(e.pointee.queue)
        add(e.pointee.job)
        add(e.pointee.jobID)
        add(e.pointee.name)
        add(e.pointee.entity)
        add(e.pointee.message)
        return n
    }

    /// Writes through a pointer into a buffer ``maxBytes(_:)`` sized.
    private struct Writer {
        var p: UnsafeMutablePointer<UInt8>

        @inline(__always)
        mutating func byte(_ b: UInt8) {
            p.initialize(to: b)
            p += 1
        }

        @inline(__always)
        mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                byte(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            byte(UInt8(v))
        }

        @inline(__always)
        mutating func string(_ s: String) {
            var s = s
            s.withUTF8 { u in
                varint(UInt64(u.count))
                if let base = u.baseAddress { p.initialize(from: base, count: u.count) }
                p += u.count
            }
        }
    }

    /// Decodes a record payload; with `strings`, the identity fields (service, route, queue, job) are taken from that
    /// table (``IdentityStrings``), as the ingest decoder takes them. A shipment read back from the log is about a
    /// cell per event, and each cell's key then passes through the lane's chunk, the hot commit and the window
    /// caches: with the table's strings those compare by identity instead of byte by byte, and the event costs no
    /// allocation per string.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, strings: IdentityStrings? = nil
    ) throws(CollectorError) -> [Event] {
        let batch = strings?.batch()
        defer { if let strings, let batch { strings.finish(batch) } }
        var r = Reader(bytes: bytes, identities: batch)
        guard try r.byte() == version else { throw CollectorError(.walIO, "unknown WAL record version") }
        let n = Int(try r.varint())
        var events: [Event] = []
        events.reserveCapacity(n)
        for _ in 0..<n { events.append(try decodeEvent(&r)) }
        return events
    }

    /// Reads the event in place: passed by value from the buffer, each event was copied, retaining each of its strings
    /// (perf: ~1 % of a shipment's collector CPU).
    private static func encode(_ e: UnsafePointer<Event>, into w: inout Writer) {
        w.varint(zigzag(e.pointee.timestampMs))
        w.byte(e.pointee.kind.rawValue)
        w.string(e.pointee.service)
        // Bits 0–7 are the optional strings in this order, written in the same order below (no array of them:
        // one per event was ~1.5 % of the collector's CPU at full HTTP ingest).
        var mask: UInt16 = 0
        if e.pointee.route != nil { mask |= 1 << 0 }
        if e.pointee.method != nil { mask |= 1 << 1 }
        if e.pointee.queue != nil { mask |= 1 << 2 }
        if e.pointee.job != nil { mask |= 1 << 3 }
        if e.pointee.jobID != nil { mask |= 1 << 4 }
        if e.pointee.name != nil { mask |= 1 << 5 }
        if e.pointee.entity != nil { mask |= 1 << 6 }
        if e.pointee.message != nil { mask |= 1 << 7 }
        if e.pointee.status != nil { mask |= 1 << 8 }
        if e.pointee.durationMs != nil { mask |= 1 << 9 }
        if e.pointee.jobEvent != nil { mask |= 1 << 10 }
        if e.pointee.attempt != nil { mask |= 1 << 11 }
        if e.pointee.level != nil { mask |= 1 << 12 }
        if e.pointee.waitMs != nil { mask |= 1 << 13 }
        w.varint(UInt64(mask))
        if let s = e.pointee.route { w.string(s) }
        if let s = e.pointee.method { w.string(s) }
        if let s = e.pointee.queue { w.string(s) }
        if let s = e.pointee.job { w.string(s) }
        if let s = e.pointee.jobID { w.string(s) }
        if let s = e.pointee.name { w.string(s) }
        if let s = e.pointee.entity { w.string(s) }
        if let s = e.pointee.message { w.string(s) }
        if let v = e.pointee.status { w.varint(zigzag(Int64(v))) }
        if let v = e.pointee.durationMs { w.varint(v.bitPattern) }
        if let v = e.pointee.jobEvent { w.byte(v.rawValue) }
        if let v = e.pointee.attempt { w.varint(zigzag(Int64(v))) }
        if let v = e.pointee.level { w.byte(v.rawValue) }
        if let v = e.pointee.waitMs { w.varint(v.bitPattern) }
    }

    private static func decodeEvent(_ r: inout Reader) throws(CollectorError) -> Event {
        let ts = unzigzag(try r.varint())
        guard let kind = EventKind(rawValue: try r.byte()) else { throw CollectorError(.walIO, "bad event kind") }
        var e = Event(timestampMs: ts, service: try r.identity(), kind: kind)
        let mask = UInt16(truncatingIfNeeded: try r.varint())
        func has(_ bit: UInt16) -> Bool { mask & (1 << bit) != 0 }
        if has(0) { e.route = try r.identity() }
        if has(1) { e.method = try r.string() }
        if has(2) { e.queue = try r.identity() }
        if has(3) { e.job = try r.identity() }
        if has(4) { e.jobID = try r.string() }
        if has(5) { e.name = try r.string() }
        if has(6) { e.entity = try r.string() }
        if has(7) { e.message = try r.string() }
        if has(8) { e.status = Int(unzigzag(try r.varint())) }
        if has(9) { e.durationMs = Double(bitPattern: try r.varint()) }
        if has(10) { e.jobEvent = JobEventType(rawValue: try r.byte()) }
        if has(11) { e.attempt = Int(unzigzag(try r.varint())) }
        if has(12) { e.level = LogLevel(rawValue: try r.byte()) }
        if has(13) { e.waitMs = Double(bitPattern: try r.varint()) }
        return e
    }

    private static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    private static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let identities: IdentityStrings.Batch?
        var offset = 0

        init(bytes: UnsafeRawBufferPointer, identities: IdentityStrings.Batch? = nil) {
            self.bytes = bytes
            self.identities = identities
        }

        mutating func byte() throws(CollectorError) -> UInt8 {
            guard offset < bytes.count else { throw CollectorError(.walIO, "truncated WAL record") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func varint() throws(CollectorError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte()
                result |= UInt64(b & 0x7f) << shift
                if b < 0x80 { return result }
                shift += 7
                if shift > 63 { throw CollectorError(.walIO, "bad varint in WAL record") }
            }
        }

        mutating func string() throws(CollectorError) -> String {
            String(decoding: try stringBytes(), as: UTF8.self)
        }

        /// An identity string: the table's when there is one (the log holds what `String`s wrote: valid UTF-8).
        mutating func identity() throws(CollectorError) -> String {
            let raw = try stringBytes()
            return identities?.string(raw) ?? String(decoding: raw, as: UTF8.self)
        }

        private mutating func stringBytes() throws(CollectorError) -> UnsafeRawBufferPointer {
            let length = try varint()
            guard length <= UInt64(bytes.count - offset) else { throw CollectorError(.walIO, "truncated WAL record") }
            let n = Int(length)
            defer { offset += n }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        }
    }
}
