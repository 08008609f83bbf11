import Foundation
import Logging
import OpsightMetrics
import ServiceLifecycle
import Synchronization

/// Delivers the outbox: claims due notifications, posts them, records the outcome, retries with backoff.
///
/// Only the lease holder delivers (`isLeader`); a claim expires after `claimMs`, so a notification claimed by
/// a process that died is delivered by the next holder. Delivery is at least once, and exactly once unless the
/// process dies between the receiver's answer and the record of it; receivers can tell the rare repeat by its
/// `Idempotency-Key`.
public final class DeliveryWorker: Service {
    /// How the worker paces itself.
    public struct Configuration: Sendable {
        /// How often to look for due notifications.
        public var pollInterval: Duration = .milliseconds(250)
        /// How long a claim keeps other workers away, ms (longer than `timeout`).
        public var claimMs: Int64 = 30_000
        /// Most notifications claimed at once.
        public var batchSize = 20
        /// Per-request timeout.
        public var timeout: Duration = .seconds(10)
        /// Retry and give-up policy.
        public var retry = DeliveryRetry()
        /// Least time between two messages to one Slack webhook URL, ms (Slack allows one per second).
        public var slackIntervalMs: Int64 = 1_000
        /// Creates the defaults.
        public init() {}
    }

    private let configuration: Configuration
    private let store: any AlertStore
    private let poster: any HTTPPoster
    private let receivers: @Sendable () -> [String: Receiver]
    private let isLeader: @Sendable () -> Bool
    private let now: @Sendable () -> Int64
    private let sleep: @Sendable (Duration) async throws -> Void
    private let onOutcome: @Sendable (_ receiver: String, _ outcome: String) -> Void
    private let logger: Logger
    private let lastSlackSend = Mutex<[String: Int64]>([:])
    private let woken = WakeSignal()

    /// Creates the worker. `receivers` gives the current receivers by name (secrets and kinds), `onOutcome` counts
    /// `opsight_notifications_total{receiver,outcome}`.
    public init(
        configuration: Configuration = .init(), store: any AlertStore, poster: any HTTPPoster,
        receivers: @escaping @Sendable () -> [String: Receiver], isLeader: @escaping @Sendable () -> Bool,
        now: @escaping @Sendable () -> Int64, sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        onOutcome: @escaping @Sendable (String, String) -> Void = { _, _ in }, logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.poster = poster
        self.receivers = receivers
        self.isLeader = isLeader
        self.now = now
        self.sleep = sleep
        self.onOutcome = onOutcome
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if self.isLeader() {
                    do { _ = try await self.deliverDue() } catch {
                        self.logger.warning("outbox unavailable", metadata: ["error": "\(error)"])
                    }
                }
                await self.woken.wait(orSleep: self.configuration.pollInterval, self.sleep)
            }
        }
    }

    /// Looks at the outbox now rather than at the next poll: the engine calls it when a step wrote notifications,
    /// so a notification does not wait up to a poll interval in the outbox of the process that wrote it.
    public func wake() {
        woken.signal()
    }

    /// Claims what is due now and attempts each while the claim holds; returns how many were attempted.
    ///
    /// A claim keeps other workers away for `claimMs`. A batch posted one by one (each up to `timeout`, Slack paced
    /// to one a second) can outlast it, and the next lease holder would then claim and post again what this one
    /// is still posting. So a post starts only while it would end before the claim expires; the rest of the batch
    /// is left to be claimed afresh once the claim has expired.
    @discardableResult
    public func deliverDue() async throws -> Int {
        let claimedAt = now()
        let records = try await store.claimDue(
            limit: configuration.batchSize, nowMs: claimedAt, claimMs: configuration.claimMs)
        let timeout = configuration.timeout.components
        let timeoutMs = timeout.seconds * 1000 + timeout.attoseconds / 1_000_000_000_000_000
        let lastStart = claimedAt + configuration.claimMs - timeoutMs
        var attempted = 0
        for record in records {
            guard try await attempt(record, startBefore: lastStart) else {
                logger.info(
                    "delivery batch stopped before its claim could expire; the rest is claimed again later",
                    metadata: ["attempted": "\(attempted)", "claimed": "\(records.count)"])
                break
            }
            attempted += 1
        }
        return attempted
    }

    /// Posts one claimed notification and records the outcome; false (nothing posted) when it is `startBefore`
    /// or later.
    private func attempt(_ record: OutboxRecord, startBefore: Int64) async throws -> Bool {
        let m = record.message
        let receiver = receivers()[m.receiver]
        if m.integration == "slack" { try await paceSlack(m.url) }
        guard now() < startBefore else { return false }
        var headers = m.headers.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        headers.append((name: "Idempotency-Key", value: m.id.uuidString.lowercased()))
        if case .webhook(let webhook)? = receiver?.kind, let secret = webhook.hmacSecret, !secret.isEmpty {
            let timestamp = now() / 1000
            headers += WebhookSignature.headers(secret: secret, body: Data(m.body), timestamp: timestamp)
        }
        let outcome = await poster.post(url: m.url, headers: headers, body: m.body, timeout: configuration.timeout)
        let at = now()
        var random = SystemRandomNumberGenerator()
        let decision = configuration.retry.decide(
            after: outcome, attempt: record.attempts, firstAttemptAt: record.createdAtMs, now: at, using: &random)
        var status: Int?
        var error = ""
        switch outcome {
        case .response(let code, _):
            status = code
            error = "HTTP \(code)"
        case .networkError(let message): error = message
        }
        let metadata: Logger.Metadata = [
            "notification": "\(m.id)", "receiver": "\(m.receiver)", "attempt": "\(record.attempts)", "outcome": "\(error)",
        ]
        switch decision {
        case .done:
            try await store.markDelivered(id: m.id, status: status ?? 200, atMs: at)
            onOutcome(m.receiver, "sent")
            logger.info("notification delivered", metadata: metadata)
        case .retry(let next):
            try await store.markRetry(id: m.id, status: status, error: error, nextAttemptAtMs: next)
            onOutcome(m.receiver, "retry")
            logger.warning("notification delivery failed; will retry", metadata: metadata.merging(["next_attempt_ms": "\(next - at)"]) { $1 })
        case .giveUp(let reason):
            try await store.markFailed(id: m.id, status: status, error: "\(reason) (last: \(error))", atMs: at)
            onOutcome(m.receiver, "failed")
            logger.error("notification delivery given up", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
        }
        return true
    }

    /// Waits until one `slackIntervalMs` has passed since the last message to `url`.
    private func paceSlack(_ url: String) async throws {
        let wait: Int64 = lastSlackSend.withLock { last in
            let t = now()
            let next = max(t, (last[url] ?? Int64.min / 2) + configuration.slackIntervalMs)
            last[url] = next
            return next - t
        }
        if wait > 0 { try await sleep(.milliseconds(wait)) }
    }
}
