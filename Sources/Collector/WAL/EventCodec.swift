import OpsightMetrics

/// Compact binary form of normalised events for write-ahead-log records.
///
/// The log keeps events after decoding, aliasing, route normalisation and the cardinality guard, with the
/// arrival time already resolved into `timestampMs`: a replay re-aggregates exactly what was acknowledged,
/// whatever the configuration is at restart.
///
/// Version 2 records also carry the series number (``SeriesLabels``) of each request event, and a mark of the process
/// that wrote them (``processMark``). Numbers mean something only in that process: a flush that reads its own
/// records back (a lane past its cap, as a shipment of the last hour is) takes the request events' series from them
/// and skips their labels, where it hashed and interned the labels again per event (perf: ~5 % of a shipment's
/// collector CPU, docs/benchmarks.md). Any other reader (a replay after a restart, a test) decodes the labels, as
/// from version 1 records, which are still read.
public enum EventCodec {
    private static let version: UInt8 = 2

    /// This process's mark on the records it writes (never 0): a record with another mark was written by another
    /// process, whose series numbers are not this one's.
    static let processMark = UInt64.random(in: 1...UInt64.max)

    /// Encodes a batch of events as one record payload; `requestKeys`, when given, holds each request event's series
    /// key (the pipeline's guards found them), written beside its labels for this process's read-back.
    ///
    /// Into a buffer sized by a first pass (strings' lengths exact, numbers at their widest), through a pointer:
    /// appending byte by byte to an array checked capacity and uniqueness at every byte (~4 % of the collector at full
    /// HTTP ingest, docs/benchmarks.md).
    public static func encode(_ events: [Event], requestKeys: [RequestKey?]? = nil) -> [UInt8] {
        encode(events, requestKeys: requestKeys, mark: processMark)
    }

    /// ``encode(_:requestKeys:)`` as the process marked `mark` writes it (tests write other processes' records).
    static func encode(_ events: [Event], requestKeys: [RequestKey?]?, mark: UInt64) -> [UInt8] {
        let keys = requestKeys?.count == events.count ? requestKeys : nil
        return events.withUnsafeBufferPointer { events in
            var bound = 1 + 8 + maxVarint
            for i in events.indices { bound += maxBytes(events.baseAddress.unsafelyUnwrapped + i) }
            return [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
                var w = Writer(p: buffer.baseAddress!)
                w.byte(version)
                for shift in stride(from: 0, to: 64, by: 8) { w.byte(UInt8(truncatingIfNeeded: mark >> UInt64(shift))) }
                w.varint(UInt64(events.count))
                for i in events.indices {
                    encode(events.baseAddress.unsafelyUnwrapped + i, number: keys?[i]?.id ?? 0, into: &w)
                }
                count = w.p - buffer.baseAddress!
                precondition(count <= bound, "event codec: wrote \(count) bytes into \(bound)")
            }
        }
    }

    /// The most bytes a varint takes.
    private static let maxVarint = 10

    /// The most bytes ``encode(_:into:)`` writes for `e`.
    private static func maxBytes(_ e: UnsafePointer<Event>) -> Int {
        // Time, kind, series number, mask, four numbers, two one-byte enums; then each string's length prefix and
        // bytes.
        var n = maxVarint + 1 + maxVarint + 3 + 4 * maxVarint + 2
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
        try decode(bytes, strings: strings, keyed: false).events
    }

    /// Decodes a record payload for aggregation (the flush's read-back): a request event of a record this process
    /// wrote comes with its series key and without its labels (its `service` empty, `route` and `method` nil; the key
    /// names them) unless it names an entity, which funnel steps match on; `requestKeys` is nil for another process's
    /// records, whose events are decoded whole (their keys are looked up from their labels, as for `decode`).
    public static func decodeForAggregation(
        _ bytes: UnsafeRawBufferPointer, strings: IdentityStrings? = nil
    ) throws(CollectorError) -> (events: [Event], requestKeys: [RequestKey?]?) {
        try decode(bytes, strings: strings, keyed: true)
    }

    private static func decode(
        _ bytes: UnsafeRawBufferPointer, strings: IdentityStrings?, keyed: Bool
    ) throws(CollectorError) -> (events: [Event], requestKeys: [RequestKey?]?) {
        let batch = strings?.batch()
        defer { if let strings, let batch { strings.finish(batch) } }
        var r = Reader(bytes: bytes, identities: batch)
        let recordVersion = try r.byte()
        guard recordVersion == 1 || recordVersion == version else {
            throw CollectorError(.walIO, "unknown WAL record version")
        }
        var mark: UInt64 = 0
        if recordVersion >= 2 {
            for shift in stride(from: 0, to: 64, by: 8) { mark |= UInt64(try r.byte()) << UInt64(shift) }
        }
        let ownNumbers = keyed && mark == processMark
        let n = Int(try r.varint())
        // At most one event per byte left: a corrupt count must not reserve memory it never fills.
        guard n <= bytes.count - r.offset else { throw CollectorError(.walIO, "truncated WAL record") }
        var events: [Event] = []
        events.reserveCapacity(n)
        var keys: [RequestKey?] = []
        if ownNumbers { keys.reserveCapacity(n) }
        for _ in 0..<n {
            if ownNumbers {
                var key: RequestKey?
                events.append(try decodeEvent(&r, version: recordVersion, key: &key))
                keys.append(key)
            } else {
                events.append(try decodeEvent(&r, version: recordVersion, key: nil))
            }
        }
        return (events, ownNumbers ? keys : nil)
    }

    /// Reads the event in place: passed by value from the buffer, each event was copied, retaining each of its strings
    /// (perf: ~1 % of a shipment's collector CPU).
    private static func encode(_ e: UnsafePointer<Event>, number: UInt32, into w: inout Writer) {
        w.varint(zigzag(e.pointee.timestampMs))
        w.byte(e.pointee.kind.rawValue)
        // Version 2: a request's series number (0 when the writer had none) before its labels.
        if e.pointee.kind == .request { w.varint(UInt64(number)) }
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

    /// Decodes one event of a record of `version`. With `key` (the record is this process's), a request event's series
    /// number is taken as its key, and its labels are skipped unless it names an entity.
    private static func decodeEvent(
        _ r: inout Reader, version: UInt8, key: UnsafeMutablePointer<RequestKey?>?
    ) throws(CollectorError) -> Event {
        let ts = unzigzag(try r.varint())
        guard let kind = EventKind(rawValue: try r.byte()) else { throw CollectorError(.walIO, "bad event kind") }
        var number: UInt32 = 0
        if version >= 2, kind == .request {
            guard let n = UInt32(exactly: try r.varint()) else { throw CollectorError(.walIO, "bad series number") }
            number = n
        }
        if let key, number != 0 {
            // A number this process never gave is a damaged record (the checksum missed it), not a series.
            guard SeriesLabels.shared.contains(number) else { throw CollectorError(.walIO, "bad series number") }
            key.pointee = RequestKey(number: number)
            let service = r.offset
            try r.skipString()
            let mask = UInt16(truncatingIfNeeded: try r.varint())
            if mask & (1 << 6) == 0 {
                var e = Event(timestampMs: ts, service: "", kind: kind)
                for bit in 0..<8 where mask & (1 << bit) != 0 { try r.skipString() }
                try decodeNumbers(mask, into: &e, &r)
                return e
            }
            r.offset = service
        }
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
        try decodeNumbers(mask, into: &e, &r)
        return e
    }

    /// The fields after the strings: those `mask`'s bits 8–13 say the event has.
    @inline(__always)
    private static func decodeNumbers(_ mask: UInt16, into e: inout Event, _ r: inout Reader) throws(CollectorError) {
        func has(_ bit: UInt16) -> Bool { mask & (1 << bit) != 0 }
        if has(8) { e.status = Int(unzigzag(try r.varint())) }
        if has(9) { e.durationMs = Double(bitPattern: try r.varint()) }
        if has(10) { e.jobEvent = JobEventType(rawValue: try r.byte()) }
        if has(11) { e.attempt = Int(unzigzag(try r.varint())) }
        if has(12) { e.level = LogLevel(rawValue: try r.byte()) }
        if has(13) { e.waitMs = Double(bitPattern: try r.varint()) }
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

        /// Passes over a string without making it.
        mutating func skipString() throws(CollectorError) { _ = try stringBytes() }

        private mutating func stringBytes() throws(CollectorError) -> UnsafeRawBufferPointer {
            let length = try varint()
            guard length <= UInt64(bytes.count - offset) else { throw CollectorError(.walIO, "truncated WAL record") }
            let n = Int(length)
            defer { offset += n }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        }
    }
}
