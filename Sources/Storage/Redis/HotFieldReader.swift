import Collector
import Foundation
import OpsightMetrics

/// Adds hot hash fields of one service, given as bytes, to its statistics.
///
/// A field is `r␟route␟method␟stat`, `j␟queue␟job␟stat` or `l␟level` (see ``RedisHotStore``); a job's `x…` stats
/// are retracted wait samples. The series part is looked up as raw bytes, so a series' `String`s and key are
/// built once per read rather than once per field, and the counts go to an array slot rather than through a
/// dictionary keyed by strings.
struct HotFieldReader {
    let service: String
    private var requestSlots: [ByteKey: Int] = [:]
    private var requestKeys: [RequestKey] = []
    private var requests: [RequestStats] = []
    private var jobSlots: [ByteKey: Int] = [:]
    private var jobKeys: [JobKey] = []
    private var jobs: [JobStats] = []
    private var logs = LogStats()
    /// Slots added to since the last ``flush(into:)``.
    private var touchedRequests: [Int] = []
    private var touchedJobs: [Int] = []
    private var requestTouched: [Bool] = []
    private var jobTouched: [Bool] = []

    static let separator: UInt8 = 0x1f
    private static let levels: [(LogLevel, [UInt8])] = LogLevel.allCases.map { ($0, Array($0.rawString.utf8)) }

    init(service: String) { self.service = service }

    /// Adds the field/value pairs of an `HGETALL` reply, parts (``HotPart``) entry by entry; pairs that are not a
    /// known field and a count are ignored (a newer collector may write more), and so is the rest of a malformed part.
    mutating func add(pairs items: [RedisReply]) {
        var i = 0
        while i + 1 < items.count {
            if case .bulk(let field) = items[i], case .bulk(let text) = items[i + 1] {
                if HotPart.isPart(field) {
                    add(part: text[...])
                } else if let value = Self.count(text[...]) {
                    add(field: field[...], value: value)
                }
            }
            i += 2
        }
    }

    /// Adds every entry of a part (``HotPart``).
    mutating func add(part: ArraySlice<UInt8>) {
        HotPart.forEachEntry(part) { field, value in add(field: field, value: value) }
    }

    /// Adds one field.
    mutating func add(field f: ArraySlice<UInt8>, value: UInt64) {
        guard f.count >= 3, f[f.startIndex + 1] == Self.separator else { return }
        var separators = 0
        var last = f.startIndex
        for i in f.indices where f[i] == Self.separator {
            separators += 1
            last = i
        }
        let stat = f[(last + 1)...]
        switch f[f.startIndex] {
        case UInt8(ascii: "r") where separators == 3:
            let slot = requestSlot(f[f.startIndex..<last])
            if !requestTouched[slot] {
                requestTouched[slot] = true
                touchedRequests.append(slot)
            }
            Self.applyRequest(stat, value, &requests[slot])
        case UInt8(ascii: "j") where separators == 3:
            let slot = jobSlot(f[f.startIndex..<last])
            if !jobTouched[slot] {
                jobTouched[slot] = true
                touchedJobs.append(slot)
            }
            Self.applyJob(stat, value, &jobs[slot])
        case UInt8(ascii: "l") where separators == 1:
            guard let level = Self.levels.first(where: { $0.1.elementsEqual(stat) })?.0 else { return }
            logs.record(level, count: value)
        default:
            return
        }
    }

    /// Merges what was read into `out`; series left with nothing (only unknown stats) are not listed.
    ///
    /// A request series' count is the larger of its `n` fields and the sum of its status classes: writers leave `n` out
    /// when it equals that sum (``RedisHotStore/add(_:to:)``), and older hashes that have it count the same requests in
    /// both.
    func finish(into out: inout WindowData) {
        for (k, s) in zip(requestKeys, requests) where !s.isZero { Self.merge(s, as: k, into: &out) }
        for (k, s) in zip(jobKeys, jobs) where !s.isZero { out.jobs[k, default: JobStats()].merge(s) }
        if !logs.isZero { out.logs[service, default: LogStats()].merge(logs) }
    }

    /// Merges what was added since the last flush into `out` and starts over, keeping the series already seen: a
    /// change record holds one group of fields per (service, bucket) it touched, and one reader per service across
    /// its groups builds each series' `String`s once rather than once per bucket (the buckets' keys then share them).
    mutating func flush(into out: inout WindowData) {
        for slot in touchedRequests {
            if !requests[slot].isZero { Self.merge(requests[slot], as: requestKeys[slot], into: &out) }
            requests[slot] = RequestStats()
            requestTouched[slot] = false
        }
        for slot in touchedJobs {
            if !jobs[slot].isZero { out.jobs[jobKeys[slot], default: JobStats()].merge(jobs[slot]) }
            jobs[slot] = JobStats()
            jobTouched[slot] = false
        }
        touchedRequests.removeAll(keepingCapacity: true)
        touchedJobs.removeAll(keepingCapacity: true)
        if !logs.isZero { out.logs[service, default: LogStats()].merge(logs) }
        logs = LogStats()
    }

    private static func merge(_ read: RequestStats, as key: RequestKey, into out: inout WindowData) {
        var s = read
        s.count = max(s.count, s.class1xx &+ s.class2xx &+ s.class3xx &+ s.class4xx &+ s.class5xx)
        out.requests[key, default: RequestStats()].merge(s)
    }

    /// The series of the last field looked up: a cell's fields come one after another, and comparing bytes is cheaper
    /// than hashing them.
    private var lastRequest: (prefix: ArraySlice<UInt8>, slot: Int)?

    private mutating func requestSlot(_ prefix: ArraySlice<UInt8>) -> Int {
        if let last = lastRequest, ByteKey.same(last.prefix, prefix) { return last.slot }
        let slot = lookUpRequestSlot(prefix)
        lastRequest = (prefix, slot)
        return slot
    }

    private mutating func lookUpRequestSlot(_ prefix: ArraySlice<UInt8>) -> Int {
        if let slot = requestSlots[ByteKey(prefix)] { return slot }
        let parts = prefix.split(separator: Self.separator, omittingEmptySubsequences: false)
        requestKeys.append(RequestKey(service: service, route: Self.text(parts[1]), method: Self.text(parts[2])))
        requests.append(RequestStats())
        requestTouched.append(false)
        requestSlots[ByteKey(prefix)] = requests.count - 1
        return requests.count - 1
    }

    private mutating func jobSlot(_ prefix: ArraySlice<UInt8>) -> Int {
        if let slot = jobSlots[ByteKey(prefix)] { return slot }
        let parts = prefix.split(separator: Self.separator, omittingEmptySubsequences: false)
        jobKeys.append(JobKey(service: service, queue: Self.text(parts[1]), job: Self.text(parts[2])))
        jobs.append(JobStats())
        jobTouched.append(false)
        jobSlots[ByteKey(prefix)] = jobs.count - 1
        return jobs.count - 1
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    private static func applyRequest(_ stat: ArraySlice<UInt8>, _ value: UInt64, _ st: inout RequestStats) {
        let a = stat.first ?? 0
        let b: UInt8 = stat.count > 1 ? stat[stat.startIndex + 1] : 0
        switch (a, stat.count) {
        case (UInt8(ascii: "n"), 1): st.count += value
        case (UInt8(ascii: "e"), 1): st.errors += value
        case (UInt8(ascii: "z"), 1), (UInt8(ascii: "b"), _): _ = addLatency(stat, value, &st)
        case (UInt8(ascii: "c"), 2): _ = addClass(b, value, &st)
        case (UInt8(ascii: "s"), 3...):
            // `s<k>z` / `s<k>b<i>`: requests of class k with that latency (``RedisHotStore/add(_:to:)``), counted in
            // both only when both parts are well-formed.
            guard b >= UInt8(ascii: "1"), b <= UInt8(ascii: "5"), addLatency(stat.dropFirst(2), value, &st) else { return }
            _ = addClass(b, value, &st)
        default: return
        }
    }

    /// `z` (a zero latency) or `b<i>` (sketch bucket i): adds `value` to the latency sketch; false for anything else.
    private static func addLatency(_ stat: ArraySlice<UInt8>, _ value: UInt64, _ st: inout RequestStats) -> Bool {
        if stat.count == 1, stat.first == UInt8(ascii: "z") {
            st.latency.addZero(count: value)
        } else if stat.first == UInt8(ascii: "b"), let idx = index(stat.dropFirst()) {
            st.latency.add(bucket: idx, count: value)
        } else {
            return false
        }
        return true
    }

    /// Adds `value` to status class `digit` (`1`…`5`); false for any other byte.
    private static func addClass(_ digit: UInt8, _ value: UInt64, _ st: inout RequestStats) -> Bool {
        switch digit {
        case UInt8(ascii: "1"): st.class1xx += value
        case UInt8(ascii: "2"): st.class2xx += value
        case UInt8(ascii: "3"): st.class3xx += value
        case UInt8(ascii: "4"): st.class4xx += value
        case UInt8(ascii: "5"): st.class5xx += value
        default: return false
        }
        return true
    }

    private static func applyJob(_ stat: ArraySlice<UInt8>, _ value: UInt64, _ st: inout JobStats) {
        if stat.elementsEqual("q".utf8) {
            st.enqueued += value
        } else if stat.elementsEqual("st".utf8) {
            st.started += value
        } else if stat.elementsEqual("ok".utf8) {
            st.succeeded += value
        } else if stat.elementsEqual("f".utf8) {
            st.failed += value
        } else if stat.elementsEqual("rt".utf8) {
            st.retried += value
        } else if stat.elementsEqual("dz".utf8) {
            st.duration.addZero(count: value)
        } else if stat.elementsEqual("wz".utf8) {
            st.wait.addZero(count: value)
        } else if stat.first == UInt8(ascii: "d"), let idx = index(stat.dropFirst()) {
            st.duration.add(bucket: idx, count: value)
        } else if stat.first == UInt8(ascii: "w"), let idx = index(stat.dropFirst()) {
            st.wait.add(bucket: idx, count: value)
        } else if stat.elementsEqual("xz".utf8) {
            st.waitRetracted.addZero(count: value)
        } else if stat.first == UInt8(ascii: "x"), let idx = index(stat.dropFirst()) {
            st.waitRetracted.add(bucket: idx, count: value)
        }
    }

    /// A sketch bucket index: optional sign and decimal digits that fit an `Int32`.
    static func index(_ bytes: ArraySlice<UInt8>) -> Int32? {
        var digits = bytes
        var negative = false
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 10 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            let d = byte &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            value = value * 10 + Int64(d)
        }
        value = negative ? -value : value
        return Int32(exactly: value)
    }

    /// A hash value: decimal digits that fit a `UInt64`.
    static func count(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            let d = byte &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            value = next
        }
        return value
    }
}
