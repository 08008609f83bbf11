import Hummingbird

/// Applies the injected API faults: a share of requests answered 500, and handling time stretched.
///
/// Place it after ``OpsightMetricsIntegrations/OpsightRequestMiddleware`` so injected errors and delays are
/// recorded like real ones. `/admin` paths are exempt so faults can always be turned off.
public struct FaultInjectionMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The settings in force.
    public let faults: FaultInjector
    /// Values in 0..<1.
    let random: @Sendable () -> Double

    /// Creates the middleware.
    public init(faults: FaultInjector, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.faults = faults
        self.random = random
    }

    /// Fails or delays the request as the settings say.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if request.uri.path.hasPrefix("/admin") { return try await next(request, context) }
        let settings = faults.settings
        if settings.errorRate > 0 && random() < settings.errorRate {
            throw HTTPError(.internalServerError, message: "injected fault")
        }
        let start = ContinuousClock.now
        let response = try await next(request, context)
        if settings.latencyMultiplier > 1 {
            let elapsed = ContinuousClock.now - start
            try? await Task.sleep(for: elapsed * (settings.latencyMultiplier - 1))
        }
        return response
    }
}
