@testable import OpsightMetrics

/// Builds emitters for tests: manual clock, fixed event time (``testNowMs``), jitter-free retries.
enum EmitterTestSupport {
    /// An emitter writing into `transport`, timed by `clock`.
    static func emitter(
        service: String = "svc",
        transport: any Transport,
        clock: ManualClock,
        configuration: OpsightEmitter.Configuration = .init()
    ) -> OpsightEmitter {
        OpsightEmitter(
            service: service,
            transport: transport,
            configuration: configuration,
            clock: clock,
            wallClock: WallClock { testNowMs },
            random: { 0 }
        )
    }

    /// Decodes every line of `bodies` as the collector would, failing on any rejection.
    static func decode(_ lines: [String]) throws -> [Event] {
        let decoder = EventDecoder()
        return try lines.map { try decoder.decode($0) }
    }
}
