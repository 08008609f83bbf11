import Foundation

/// An AI call stand-in with log-normal latency and random failures, both steered by a ``FaultInjector``.
///
/// Latency is `medianLatency × exp(sigma × Z) × latency_multiplier` with `Z` standard normal, so the median is
/// `medianLatency` and the tail grows with `sigma`; an attempt fails with probability `ai_failure_rate`.
public struct SimulatedAssessor: Assessor {
    /// Latency shape.
    public struct Configuration: Sendable {
        /// The median latency before the fault multiplier.
        public var medianLatency: Duration
        /// The log-normal shape: the standard deviation of log(latency).
        public var sigma: Double

        /// Creates a configuration with defaults suited to a demo (median 1.5 s).
        public init(medianLatency: Duration = .milliseconds(1500), sigma: Double = 0.5) {
            self.medianLatency = medianLatency
            self.sigma = max(sigma, 0)
        }
    }

    /// Latency shape.
    public let configuration: Configuration
    /// Failure rate and latency multiplier, read per call.
    public let faults: FaultInjector
    /// Values in 0..<1.
    let random: @Sendable () -> Double

    /// Creates an assessor.
    public init(
        configuration: Configuration = .init(),
        faults: FaultInjector,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.configuration = configuration
        self.faults = faults
        self.random = random
    }

    /// One latency sample for the current settings.
    public func sampleLatency() -> Duration {
        // Box–Muller: two uniforms in (0, 1] give one standard normal.
        let u1 = max(random(), 1e-12)
        let u2 = random()
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        let median = OpsightSeconds.of(configuration.medianLatency)
        let seconds = median * exp(configuration.sigma * z) * faults.settings.latencyMultiplier
        return .nanoseconds(Int64(min(seconds, 3600) * 1e9))
    }

    /// Waits a sampled latency, then fails at the configured rate or returns a result.
    public func assess(_ job: ClaimedJob) async throws -> String {
        try await Task.sleep(for: sampleLatency())
        if random() < faults.settings.aiFailureRate {
            throw AssessmentError(.aiCallFailed, "AI call failed (injected) for assessment \(job.id)")
        }
        let words = job.content.split(whereSeparator: \.isWhitespace).count
        let frameworks = job.frameworks.map { name -> [String: Any] in
            let score = (random() * 100).rounded() / 100
            return ["framework": name, "score": score, "findings": Int(random() * 5)]
        }
        let result: [String: Any] = [
            "document_id": job.documentID.uuidString.lowercased(), "word_count": words, "frameworks": frameworks,
            "attempt": job.attempt,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
