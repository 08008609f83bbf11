// Measures the cost of one emit call (SPEC §11: ≤ 500 ns median): 1,000,000 request events in 100 batches,
// timed per batch with ContinuousClock while the run loop drains into a transport that discards everything.
import OpsightMetrics

/// A transport that accepts every batch without doing anything with it.
struct DiscardingTransport: Transport {
    func send(body: [UInt8], lineCount: Int) async throws -> TransportOutcome {
        .delivered(accepted: lineCount, rejected: 0)
    }
}

let batches = 100
let perBatch = 10_000
let emitter = OpsightEmitter(service: "bench", transport: DiscardingTransport())
// Detached: top-level code runs on the main actor, and the loop must drain concurrently as in a service.
let loop = Task.detached { await emitter.run() }
let clock = ContinuousClock()
var perCall: [Double] = []
perCall.reserveCapacity(batches)
for batch in 0..<batches {
    let start = clock.now
    for i in 0..<perBatch {
        emitter.request(
            route: "/api/v1/assessments/:id", method: "GET", status: i & 63 == 0 ? 500 : 200,
            duration: .microseconds(1_000 + batch))
    }
    let elapsed = clock.now - start
    let (seconds, attoseconds) = elapsed.components
    perCall.append((Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(perBatch))
}
await emitter.flush()
emitter.shutdown()
await loop.value
perCall.sort()
let stats = emitter.statistics
print("emit calls: \(batches * perBatch) in \(batches) batches of \(perBatch)")
print(
    "per-call ns: median \(Int(perCall[batches / 2].rounded())), p99 \(Int(perCall[batches * 99 / 100].rounded())), "
        + "min \(Int(perCall[0].rounded())), max \(Int(perCall[batches - 1].rounded()))")
print("accepted \(stats.accepted), dropped \(stats.dropped) (buffer \(emitter.configuration.bufferCapacity))")
