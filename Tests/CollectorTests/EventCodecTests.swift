import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

@Suite struct EventCodecTests {
    @Test func roundTripsEveryField() throws {
        var rng = SplitMix64(seed: 7)
        var events = randomEvents(count: 500, baseMs: 1_795_000_000_000, spanMs: 600_000, rng: &rng)
        var funnel = Event(timestampMs: -5, service: "ünïcode ✓", kind: .event)
        funnel.name = "report_viewed"
        funnel.entity = "user-1"
        funnel.message = "m"
        funnel.attempt = 3
        events.append(funnel)
        let bytes = EventCodec.encode(events)
        let decoded = try bytes.withUnsafeBytes { try EventCodec.decode($0) }
        #expect(decoded == events)
    }

    @Test func truncatedPayloadIsAnError() {
        var rng = SplitMix64(seed: 8)
        let bytes = EventCodec.encode(randomEvents(count: 10, baseMs: 1_000_000, spanMs: 1000, rng: &rng))
        let cut = Array(bytes.dropLast(3))
        #expect(throws: CollectorError.self) { try cut.withUnsafeBytes { try EventCodec.decode($0) } }
    }
}
