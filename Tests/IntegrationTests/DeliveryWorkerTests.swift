import Alerting
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import Storage
import Synchronization
import Testing

private let env = ProcessInfo.processInfo.environment

/// A clock the test moves; sleeping advances it instead of waiting.
final class ManualClock: Sendable {
    private let ms = Mutex<Int64>(1_700_000_000_000)
    var now: Int64 { ms.withLock { $0 } }
    func advance(_ by: Int64) { ms.withLock { $0 += by } }
}

/// A real HTTP receiver on a loopback port: answers each request with the next scripted status (then 200) and
/// records what it received.
final class Receiver: Sendable {
    struct Received: Sendable {
        var headers: [String: String]
        var body: [UInt8]
    }
    private let script: Mutex<[(status: Int, retryAfter: String?)]>
    private let received = Mutex<[Received]>([])
    init(script: [(Int, String?)]) { self.script = Mutex(script.map { (status: $0.0, retryAfter: $0.1) }) }
    var requests: [Received] { received.withLock { $0 } }

    /// Runs the receiver for the duration of `body`, passing its base URL.
    func serve(_ body: (String) async throws -> Void) async throws {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            self.received.withLock { $0.append(Received(headers: headers, body: Array(buffer: bytes))) }
            let next = self.script.withLock { $0.isEmpty ? (status: 200, retryAfter: nil) : $0.removeFirst() }
            var fields = HTTPFields()
            if let retryAfter = next.retryAfter { fields[.retryAfter] = retryAfter }
            return Response(status: .init(code: next.status), headers: fields)
        }
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var bound: Int?
            for _ in 0..<200 where bound == nil {
                try await Task.sleep(for: .milliseconds(10))
                bound = port.withLock { $0 }
            }
            let p = try #require(bound)
            try await body("http://127.0.0.1:\(p)")
            group.cancelAll()
        }
    }
}

@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct DeliveryWorkerTests {
    static let secret = "s3cret"

    func worker(
        _ store: any AlertStore, _ clock: ManualClock, _ http: HTTPClient, receivers: [Alerting.Receiver],
        maxRetryDuration: Int64 = 600_000
    ) -> DeliveryWorker {
        var configuration = DeliveryWorker.Configuration()
        configuration.retry = DeliveryRetry(
            initialBackoff: 1_000, multiplier: 2, maxBackoff: 60_000, jitter: 0, maxRetryDuration: maxRetryDuration)
        configuration.timeout = .seconds(2)
        let map = Dictionary(uniqueKeysWithValues: receivers.map { ($0.name, $0) })
        return DeliveryWorker(
            configuration: configuration, store: store, poster: AsyncHTTPPoster(client: http), receivers: { map },
            isLeader: { true }, now: { clock.now }, sleep: { d in clock.advance(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) },
            logger: Logger(label: "test"))
    }

    func withHTTP(_ body: (HTTPClient) async throws -> Void) async throws {
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(1), read: .seconds(5))))
        do { try await body(http) } catch {
            try await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test func webhookBodyIsSignedAndCarriesTheIdempotencyKey() async throws {
        let receiver = Receiver(script: [])
        try await withAlertStore { store in
            try await withHTTP { http in
                try await receiver.serve { base in
                    let clock = ManualClock()
                    let hook = Alerting.Receiver(name: "hook", kind: .webhook(WebhookReceiver(url: base + "/hook", hmacSecret: Self.secret)))
                    let m = message(1, url: base + "/hook")
                    try await store.commit(state: [:], history: [], outbox: [m], nowMs: clock.now)
                    #expect(try await worker(store, clock, http, receivers: [hook]).deliverDue() == 1)
                    let got = try #require(receiver.requests.first)
                    #expect(receiver.requests.count == 1)
                    #expect(got.body == m.body)
                    #expect(got.headers["idempotency-key"] == m.id.uuidString.lowercased())
                    let timestamp = try #require(got.headers["x-opsight-timestamp"].flatMap { Int64($0) })
                    #expect(timestamp == clock.now / 1000)
                    let signature = try #require(got.headers["x-opsight-signature"])
                    #expect(WebhookSignature.verify(header: signature, secret: Self.secret, body: Data(got.body), timestamp: timestamp))
                    #expect(!WebhookSignature.verify(header: signature, secret: "other", body: Data(got.body), timestamp: timestamp))
                    #expect(try await store.notifications(limit: 5).first?.state == .delivered)
                }
            }
        }
    }

    @Test func aFailingReceiverGetsExactlyOneSuccessfulDeliveryAfterRetries() async throws {
        let receiver = Receiver(script: [(500, nil), (503, nil)])
        try await withAlertStore { store in
            try await withHTTP { http in
                try await receiver.serve { base in
                    let clock = ManualClock()
                    let w = worker(store, clock, http, receivers: [])
                    let m = message(1, url: base + "/hook")
                    try await store.commit(state: [:], history: [], outbox: [m], nowMs: clock.now)
                    #expect(try await w.deliverDue() == 1)  // 500
                    #expect(try await w.deliverDue() == 0)  // not due before its backoff (1 s)
                    clock.advance(1_000)
                    #expect(try await w.deliverDue() == 1)  // 503
                    clock.advance(1_999)
                    #expect(try await w.deliverDue() == 0)  // second backoff is 2 s
                    clock.advance(1)
                    #expect(try await w.deliverDue() == 1)  // 200
                    clock.advance(60_000)
                    #expect(try await w.deliverDue() == 0)
                    #expect(receiver.requests.count == 3)
                    #expect(Set(receiver.requests.compactMap { $0.headers["idempotency-key"] }) == [m.id.uuidString.lowercased()])
                    let record = try #require(try await store.notifications(limit: 5).first)
                    #expect(record.state == .delivered && record.attempts == 3 && record.lastStatus == 200)
                }
            }
        }
    }

    @Test func retryAfterOnA429IsHonoured() async throws {
        let receiver = Receiver(script: [(429, "2")])
        try await withAlertStore { store in
            try await withHTTP { http in
                try await receiver.serve { base in
                    let clock = ManualClock()
                    let w = worker(store, clock, http, receivers: [])
                    try await store.commit(state: [:], history: [], outbox: [message(1, url: base + "/hook")], nowMs: clock.now)
                    #expect(try await w.deliverDue() == 1)
                    clock.advance(1_999)  // the backoff alone would be 1 s; Retry-After asks for 2
                    #expect(try await w.deliverDue() == 0)
                    clock.advance(1)
                    #expect(try await w.deliverDue() == 1)
                    #expect(receiver.requests.count == 2)
                    #expect(try await store.notifications(limit: 5).first?.state == .delivered)
                }
            }
        }
    }

    @Test func permanentFailuresAndGivingUpAreRecorded() async throws {
        let receiver = Receiver(script: [(400, nil)])
        try await withAlertStore { store in
            try await withHTTP { http in
                try await receiver.serve { base in
                    let clock = ManualClock()
                    let w = worker(store, clock, http, receivers: [], maxRetryDuration: 10_000)
                    let bad = message(1, url: base + "/hook")
                    // Nothing listens on port 1: a network error, retried (after 1, 2, 4 s) until the next attempt
                    // would start more than max_retry_duration (10 s) after the first.
                    let unreachable = message(2, url: "http://127.0.0.1:1/hook")
                    try await store.commit(state: [:], history: [], outbox: [bad, unreachable], nowMs: clock.now)
                    #expect(try await w.deliverDue() == 2)
                    var attempts = 1
                    for _ in 0..<8 {
                        clock.advance(4_000)
                        attempts += try await w.deliverDue()
                    }
                    #expect(attempts == 3)  // at 0, 4 and 8 s; the next would be at 12 s > 10 s
                    let byID = Dictionary(uniqueKeysWithValues: try await store.notifications(limit: 5).map { ($0.message.id, $0) })
                    #expect(byID[bad.id]?.state == .failed && byID[bad.id]?.attempts == 1)
                    #expect(byID[unreachable.id]?.state == .failed)
                    #expect(byID[unreachable.id]?.lastError?.contains("max_retry_duration") == true)
                }
            }
        }
    }

    @Test func slackMessagesToOneWebhookAreAtLeastASecondApart() async throws {
        let receiver = Receiver(script: [])
        try await withAlertStore { store in
            try await withHTTP { http in
                try await receiver.serve { base in
                    let clock = ManualClock()
                    let w = worker(store, clock, http, receivers: [])
                    var messages = (1...3).map { message($0, receiver: "slack", url: base + "/hook") }
                    for i in messages.indices { messages[i].integration = "slack" }
                    try await store.commit(state: [:], history: [], outbox: messages, nowMs: clock.now)
                    let start = clock.now
                    #expect(try await w.deliverDue() == 3)
                    #expect(receiver.requests.count == 3)
                    // The worker slept (on the manual clock) one second before each message after the first.
                    #expect(clock.now - start == 2_000)
                }
            }
        }
    }
}

/// A Slack notification rendered, written to the outbox and delivered to a real HTTP receiver: the message as
/// Slack's incoming webhook takes it and Alertmanager's default Slack templates write it.
@Suite(.enabled(if: env["OPSIGHT_TEST_DATABASE_URL"] != nil, "needs OPSIGHT_TEST_DATABASE_URL (make test sets it)"))
struct SlackDeliveryTests {
    @Test func slackMessageFieldsAsAlertmanagerWritesThem() async throws {
        let receiver = Receiver(script: [])
        try await withAlertStore { store in
            let http = HTTPClient.shared
            try await receiver.serve { base in
                let clock = ManualClock()
                let slack = Alerting.Receiver(
                    name: "slack-ops", kind: .slack(SlackReceiver(url: base + "/hook", channel: "#ops", username: "opsight")))
                func alert(_ window: String, resolved: Bool) -> Alert {
                    Alert(
                        labels: [
                            "alertname": "HighErrorRatio", "service": "checkout", "severity": "critical", "window": window,
                        ],
                        annotations: ["summary": "checkout is failing"], startsAt: clock.now - 60_000,
                        endsAt: resolved ? clock.now - 1_000 : nil, generatorURL: "http://opsight.test/graph")
                }
                let firing = AlertNotification(
                    id: UUID(), receiver: "slack-ops", groupKey: "{}:{alertname=\"HighErrorRatio\", service=\"checkout\"}",
                    alerts: [alert("1m", resolved: false), alert("5m", resolved: false)],
                    groupLabels: ["alertname": "HighErrorRatio", "service": "checkout"], createdAt: clock.now)
                var resolvedNotification = firing
                resolvedNotification.id = UUID()
                resolvedNotification.alerts = [alert("1m", resolved: true)]
                resolvedNotification.alertStatuses = [.resolved]
                resolvedNotification.status = .resolved
                let messages = [firing, resolvedNotification].map {
                    NotificationRenderer.render($0, receiver: slack, externalURL: "http://opsight.test:9400")
                }
                try await store.commit(state: [:], history: [], outbox: messages, nowMs: clock.now)
                var configuration = DeliveryWorker.Configuration()
                configuration.timeout = .seconds(5)
                let worker = DeliveryWorker(
                    configuration: configuration, store: store, poster: AsyncHTTPPoster(client: http),
                    receivers: { ["slack-ops": slack] }, isLeader: { true }, now: { clock.now },
                    sleep: { d in clock.advance(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) },
                    logger: Logger(label: "test"))
                #expect(try await worker.deliverDue() == 2)
                let bodies = receiver.requests.compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any]
                }
                try #require(bodies.count == 2)
                #expect(receiver.requests.allSatisfy { $0.headers["content-type"] == "application/json" })
                for (body, (color, title)) in zip(
                    bodies,
                    [
                        ("danger", "[FIRING:2] HighErrorRatio checkout (critical)"),
                        ("good", "[RESOLVED] HighErrorRatio checkout (critical 1m)"),
                    ])
                {
                    #expect(body["channel"] as? String == "#ops")
                    #expect(body["username"] as? String == "opsight")
                    let attachments = try #require(body["attachments"] as? [[String: Any]])
                    #expect(attachments.count == 1, "one message per group")
                    #expect(attachments.first?["color"] as? String == color)
                    #expect(attachments.first?["title"] as? String == title)
                    #expect(attachments.first?["title_link"] as? String == "http://opsight.test:9400")
                    #expect(attachments.first?["fallback"] as? String == title + " | http://opsight.test:9400")
                }
            }
        }
    }
}
