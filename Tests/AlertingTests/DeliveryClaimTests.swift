import Foundation
import Logging
import Synchronization
import Testing

@testable import Alerting

/// A delivery batch stops before its claim could expire: a post that could still run when the claim expires
/// might be claimed and posted again by the next lease holder.
@Suite struct DeliveryClaimTests {
    /// A receiver that takes `takesMs` per post on a clock the test owns, and records when each post started.
    final class SlowPoster: HTTPPoster {
        let clock = Mutex<Int64>(1_700_000_000_000)
        let takesMs: Int64
        let starts = Mutex<[(id: String, atMs: Int64)]>([])
        init(takesMs: Int64) { self.takesMs = takesMs }
        var now: Int64 { clock.withLock { $0 } }
        func post(url: String, headers: [(name: String, value: String)], body: [UInt8], timeout: Duration) async
            -> DeliveryOutcome
        {
            let id = headers.first { $0.name == "Idempotency-Key" }?.value ?? ""
            clock.withLock { now in
                starts.withLock { $0.append((id, now)) }
                now += takesMs
            }
            return .response(status: 200)
        }
    }

    @Test func aBatchNeverPostsPastItsClaim() async throws {
        let store = InMemoryAlertStore()
        let poster = SlowPoster(takesMs: 10_000)
        let outbox = (0..<6).map { i in
            OutboxMessage(
                id: UUID(), receiver: "hook", integration: "webhook", groupKey: "{}", status: "firing", alerts: 1,
                url: "http://x/\(i)", headers: [:], body: [])
        }
        try await store.commit(state: [:], history: [], outbox: outbox, nowMs: poster.now)
        var configuration = DeliveryWorker.Configuration()
        configuration.claimMs = 30_000
        configuration.timeout = .seconds(10)
        configuration.batchSize = 20
        let worker = DeliveryWorker(
            configuration: configuration, store: store, poster: poster, receivers: { [:] }, isLeader: { true },
            now: { poster.now }, sleep: { _ in }, logger: Logger(label: "test"))
        let claimedAt = poster.now
        // Posts of 10 s each in a 30 s claim: those starting at +0 s and +10 s end before it expires; the one that
        // would start at +20 s might still run at +30 s, when another worker may claim it.
        #expect(try await worker.deliverDue() == 2)
        #expect(poster.starts.withLock { $0.allSatisfy { $0.atMs + 10_000 < claimedAt + 30_000 } })
        // The rest is claimed again once the claim expired, and every notification is posted exactly once.
        while poster.starts.withLock({ $0.count }) < outbox.count {
            poster.clock.withLock { $0 += 30_000 }
            let attempted = try await worker.deliverDue()
            try #require(attempted > 0)
        }
        let ids = poster.starts.withLock { $0.map(\.id) }
        #expect(Set(ids).count == outbox.count)
        #expect(ids.count == outbox.count)
    }
}
