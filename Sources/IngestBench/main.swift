// The collector's per-line CPU on its ingest path, in process: what `IngestPipeline.prepare` and the flush's read-back
// do to a body of 1 000 SPEC §11 lines, stage by stage, without HTTP, stores or other processes — so that changes to
// the decoder, the pre-aggregation or the log's codec can be compared on a shared machine (Benchmarks/ingest_bench.sh).
//
//   ingest-bench FILE [rounds] [stage]     (stage: only the stages whose name contains it, e.g. for `perf record`)
//
// The last stage, "window sums", is what the hot window cache does with a commit: each 10-second cell of the bodies'
// aggregates merged into the per-series sum of a window holding all of them (the 1-hour window; a shipment of the last
// hour is about a cell per event).
//
// FILE is NDJSON (Benchmarks/gen_events.py: times over the last hour, so made within the last hour); it is cut into
// bodies of 1 000 lines. Each round runs every stage over every body; a stage's figure is its thread CPU time
// (CLOCK_THREAD_CPUTIME_ID) per line, the median over the rounds, with the fastest and slowest round.
import Collector
import Foundation
import OpsightMetrics

let arguments = CommandLine.arguments
guard arguments.count >= 2, let data = FileManager.default.contents(atPath: arguments[1]) else {
    FileHandle.standardError.write(
        Data("usage: ingest-bench FILE [rounds] [stage]  (FILE: NDJSON, e.g. from Benchmarks/gen_events.py)\n".utf8))
    exit(2)
}
let rounds = arguments.count >= 3 ? max(Int(arguments[2]) ?? 7, 1) : 7
let only = arguments.count >= 4 ? arguments[3] : nil

/// Thread CPU time in nanoseconds.
func threadCPU() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
}

// Bodies of 1 000 lines, as `opsight ship` sends them.
let bytes = [UInt8](data)
var bodies: [[UInt8]] = []
var start = 0
var lines = 0
for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") {
    lines += 1
    if lines % 1_000 == 0 {
        bodies.append(Array(bytes[start...i]))
        start = i + 1
    }
}
if start < bytes.count { bodies.append(Array(bytes[start...])) }

let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
let decoder = EventDecoder()
let rules = AggregationRules()
let strings = IdentityStrings()

// One pass to check the file and keep what the later stages start from.
var decoded: [[Event]] = []
var payloads: [[UInt8]] = []
var rejected = 0
for body in bodies {
    let batch = body.withUnsafeBytes { decoder.decodeBatch($0, nowMs: nowMs) }
    rejected += batch.rejected
    decoded.append(batch.events)
    payloads.append(EventCodec.encode(batch.events))
}
let accepted = decoded.reduce(0) { $0 + $1.count }
guard accepted > 0 else {
    FileHandle.standardError.write(
        Data(
            "ingest-bench: no line of \(arguments[1]) was accepted (\(rejected) rejected; older than the decoder's maximum age?)\n"
                .utf8))
    exit(1)
}

/// Runs `body` once per round and prints its CPU per accepted line.
func stage(_ name: String, _ body: () -> Int) {
    if let only, !name.contains(only) { return }
    var perLine: [Double] = []
    var sink = 0
    for _ in 0..<rounds {
        let t0 = threadCPU()
        sink &+= body()
        perLine.append(Double(threadCPU() - t0) / Double(accepted))
    }
    perLine.sort()
    let median = perLine[perLine.count / 2]
    print(
        "\(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(String(format: "%7.0f", median)) ns/line  "
            + "(min \(String(format: "%.0f", perLine.first!)), max \(String(format: "%.0f", perLine.last!)))  "
            + "\(String(format: "%6.1f", Double(bytes.count) / (median * Double(accepted)) * 1e3)) MB/s"
            + (sink == 42 ? " " : ""))
}

print(
    "ingest-bench: \(accepted) lines accepted (\(rejected) rejected) in \(bodies.count) bodies, \(bytes.count) bytes, \(rounds) rounds"
)
stage("decode (JSON → events)") {
    var n = 0
    for body in bodies { n &+= body.withUnsafeBytes { decoder.decodeBatch($0, nowMs: nowMs) }.events.count }
    return n
}
stage("aggregate (10 s cells)") {
    var n = 0
    for events in decoded { n &+= BatchAggregate(events: events, rules: rules).hot.requests.count }
    return n
}
stage("encode (log record)") {
    var n = 0
    for events in decoded { n &+= EventCodec.encode(events).count }
    return n
}
stage("read back (log → events)") {
    var n = 0
    for payload in payloads {
        n &+= ((try? payload.withUnsafeBytes { try EventCodec.decode($0, strings: strings) })?.count ?? 0)
    }
    return n
}

let aggregates = decoded.map { BatchAggregate(events: $0, rules: rules).hot }
stage("window sums (cells → series)") {
    var windows = [WindowData()]
    for delta in aggregates { FeedChange(deltas: [delta]).add(to: &windows, ranges: [Int64.min...Int64.max]) }
    return windows[0].requests.count
}
