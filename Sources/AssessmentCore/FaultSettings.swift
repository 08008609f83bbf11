import Synchronization

/// Faults injected at runtime (`POST /admin/faults`) to make alerts fire.
public struct FaultSettings: Codable, Sendable, Equatable {
    /// Share of API requests answered 500 before reaching their handler (0…1).
    public var errorRate: Double
    /// Factor applied to request handling time and to the AI call's latency (≥ 0).
    public var latencyMultiplier: Double
    /// Share of AI calls that fail (0…1).
    public var aiFailureRate: Double

    /// Creates settings; the defaults inject nothing beyond `aiFailureRate`.
    public init(errorRate: Double = 0, latencyMultiplier: Double = 1, aiFailureRate: Double = 0.05) {
        self.errorRate = errorRate
        self.latencyMultiplier = latencyMultiplier
        self.aiFailureRate = aiFailureRate
    }

    enum CodingKeys: String, CodingKey {
        case errorRate = "error_rate"
        case latencyMultiplier = "latency_multiplier"
        case aiFailureRate = "ai_failure_rate"
    }

    /// The settings with every value clamped into its range.
    public var clamped: FaultSettings {
        FaultSettings(
            errorRate: min(max(errorRate, 0), 1),
            latencyMultiplier: min(max(latencyMultiplier, 0), 1000),
            aiFailureRate: min(max(aiFailureRate, 0), 1)
        )
    }
}

/// The current ``FaultSettings``, shared by the routes, the middleware and the worker.
public final class FaultInjector: Sendable {
    private let state: Mutex<FaultSettings>

    /// Creates an injector starting with `initial`.
    public init(_ initial: FaultSettings = FaultSettings()) {
        state = Mutex(initial.clamped)
    }

    /// The settings now.
    public var settings: FaultSettings { state.withLock { $0 } }

    /// Replaces the settings (clamped) and returns what is now in force.
    @discardableResult
    public func update(_ settings: FaultSettings) -> FaultSettings {
        let clamped = settings.clamped
        state.withLock { $0 = clamped }
        return clamped
    }
}
