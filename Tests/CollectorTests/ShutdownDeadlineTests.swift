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

    @Test func aShutdownThatNeverEndsExpiresAfterTheLimit() async throws {
        let expired = Atomic<Int>(0)
        let deadline = ShutdownDeadline(limit: .milliseconds(300), logger: Logger(label: "test")) {
            expired.add(1, ordering: .relaxed)
        }
        let group = Self.group([Stuck(), deadline])
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(200))
        #expect(expired.load(ordering: .relaxed) == 0, "nothing expires before the shutdown begins")
        await group.triggerGracefulShutdown()
        try await Task.sleep(for: .milliseconds(100))
        #expect(expired.load(ordering: .relaxed) == 0, "nor before the limit")
        var waited = 0
        while expired.load(ordering: .relaxed) == 0 && waited < 100 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(expired.load(ordering: .relaxed) == 1)
        running.cancel()
        _ = try? await running.value
    }

    @Test func aShutdownThatEndsInTimeDoesNotExpire() async throws {
        let expired = Atomic<Int>(0)
        let deadline = ShutdownDeadline(limit: .milliseconds(300), logger: Logger(label: "test")) {
            expired.add(1, ordering: .relaxed)
        }
        let group = Self.group([Prompt(), deadline])
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(100))
        await group.triggerGracefulShutdown()
        try await running.value
        deadline.disarm()
        try await Task.sleep(for: .milliseconds(600))
        #expect(expired.load(ordering: .relaxed) == 0)
    }
}
