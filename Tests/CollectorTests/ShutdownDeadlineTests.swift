import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import Collector

/// ``ShutdownDeadline`` ends a shutdown that outlives its limit, and only that one.
@Suite struct ShutdownDeadlineTests {
    /// Ignores graceful shutdown: ends only when cancelled (a service whose stop never finishes).
    struct Stuck: Service {
        func run() async throws {
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }

    /// Ends as soon as the group's graceful shutdown reaches it.
    struct Prompt: Service {
        func run() async throws { try? await gracefulShutdown() }
    }

    static func group(_ services: [any Service]) -> ServiceGroup {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
    }

    /// A deadline whose clock runs out when the test says (`limitReached`), counting its expiries.
    final class Count: Sendable {
        let value = Atomic<Int>(0)
        var now: Int { value.load(ordering: .relaxed) }
    }

    static func deadline() -> (ShutdownDeadline, expired: Count, limitReached: AsyncStream<Void>.Continuation) {
        let expired = Count()
        let (limit, reached) = AsyncStream.makeStream(of: Void.self)
        let deadline = ShutdownDeadline(
            limit: .seconds(10), logger: Logger(label: "test"),
            sleep: { _ in for await _ in limit { break } },
            expire: { expired.value.add(1, ordering: .relaxed) })
        return (deadline, expired, reached)
    }

    /// Waits (at most 10 s) until `expired` counts one.
    static func waitForExpiry(_ expired: Count) async throws {
        for _ in 0..<200 where expired.now == 0 { try await Task.sleep(for: .milliseconds(50)) }
    }

    @Test func aShutdownThatNeverEndsExpiresAtTheLimit() async throws {
        let (deadline, expired, limitReached) = Self.deadline()
        let group = Self.group([Stuck(), deadline])
        let running = Task { try await group.run() }
        await group.triggerGracefulShutdown()
        try await Task.sleep(for: .milliseconds(200))
        #expect(expired.now == 0, "nothing expires before the limit")
        limitReached.yield()
        try await Self.waitForExpiry(expired)
        #expect(expired.now == 1)
        running.cancel()
        _ = try? await running.value
    }

    @Test func aShutdownThatEndsBeforeTheLimitDoesNotExpire() async throws {
        let (deadline, expired, limitReached) = Self.deadline()
        let group = Self.group([Prompt(), deadline])
        let running = Task { try await group.run() }
        await group.triggerGracefulShutdown()
        try await running.value
        deadline.disarm()
        limitReached.yield()
        try await Task.sleep(for: .milliseconds(500))
        #expect(expired.now == 0)
    }
}
