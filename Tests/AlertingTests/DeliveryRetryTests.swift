import OpsightMetrics
import Testing

@testable import Alerting

@Suite struct DeliveryRetryTests {
    @Test(arguments: 1...20)
    func backoffStaysWithinJitteredExponentialBounds(attempt: Int) {
        let policy = DeliveryRetry(initialBackoff: 1000, multiplier: 2, maxBackoff: 60_000, jitter: 0.2)
        var random = SplitMix64(seed: UInt64(attempt))
        let base = min(1000 * Double(1 << min(attempt - 1, 30)), 60_000)
        for _ in 0..<200 {
            let delay = Double(policy.delay(attempt: attempt, using: &random))
            #expect(delay >= (base * 0.8).rounded(.down) && delay <= base)
        }
    }

    @Test func jitterSpreadsDelays() {
        var random = SplitMix64(seed: 7)
        let delays = Set((0..<50).map { _ in DeliveryRetry().delay(attempt: 3, using: &random) })
        #expect(delays.count > 10)
    }

    @Test(
        arguments: [
            (DeliveryOutcome.response(status: 200), DeliveryClassification.delivered),
            (.response(status: 204), .delivered),
            (.response(status: 429), .retryable),
            (.response(status: 500), .retryable),
            (.response(status: 503), .retryable),
            (.networkError("connection refused"), .retryable),
            (.response(status: 400), .permanent),
            (.response(status: 404), .permanent),
            (.response(status: 301), .permanent),
        ] as [(DeliveryOutcome, DeliveryClassification)])
    func classifiesOutcomes(outcome: DeliveryOutcome, classification: DeliveryClassification) {
        #expect(outcome.classification == classification)
    }

    @Test func honoursRetryAfter() {
        var random = SplitMix64(seed: 1)
        let decision = DeliveryRetry(jitter: 0).decide(
            after: .response(status: 429, retryAfter: 30), attempt: 1, firstAttemptAt: 0, now: 1000, using: &random)
        #expect(decision == .retry(at: 31_000))
    }

    @Test func givesUpAfterMaxRetryDurationAndOnPermanentErrors() {
        var random = SplitMix64(seed: 1)
        let policy = DeliveryRetry(initialBackoff: 1000, jitter: 0, maxRetryDuration: 10_000)
        #expect(
            policy.decide(after: .response(status: 500), attempt: 1, firstAttemptAt: 0, now: 8000, using: &random)
                == .retry(at: 9000))
        guard
            case .giveUp = policy.decide(
                after: .response(status: 500), attempt: 2, firstAttemptAt: 0, now: 9000, using: &random)
        else {
            Issue.record("expected to give up")
            return
        }
        #expect(
            policy.decide(after: .response(status: 400), attempt: 1, firstAttemptAt: 0, now: 0, using: &random)
                == .giveUp(reason: "permanent failure: HTTP 400"))
        #expect(
            policy.decide(after: .response(status: 200), attempt: 1, firstAttemptAt: 0, now: 0, using: &random) == .done
        )
    }
}
