import Hummingbird
import Logging

/// The only door through which controllers add routes: each group checks one scope before any handler runs, and
/// maps every error to one response shape. A controller never sees the bare router, so an endpoint without a scope
/// cannot be registered by forgetting a call; open endpoints are asked for by name (`unauthenticated`).
public struct ScopedRoutes<Context: RequestContext> {
    private let router: Router<Context>
    /// The tokens the groups check; a handler in an `authenticated` group identifies its caller with them.
    public let tokens: AccessTokens
    private let shape: ErrorShape
    private let logger: Logger?

    /// Routes on `router` whose errors are answered in `shape`.
    public init(router: Router<Context>, tokens: AccessTokens, shape: ErrorShape = .ops, logger: Logger? = nil) {
        self.router = router
        self.tokens = tokens
        self.shape = shape
        self.logger = logger
    }

    /// A group under `path` whose routes require `scope`.
    public func group(_ path: RouterPath = "", scope: Scope) -> RouterGroup<Context> {
        router.group(path)
            .add(middleware: ErrorMiddleware(shape: shape, logger: logger))
            .add(middleware: ScopeMiddleware(scope: scope, tokens: tokens))
    }

    /// A group under `path` for any known token, whatever its scopes (the console asks which scopes it has).
    public func authenticated(_ path: RouterPath = "") -> RouterGroup<Context> {
        router.group(path)
            .add(middleware: ErrorMiddleware(shape: shape, logger: logger))
            .add(middleware: ScopeMiddleware(scope: nil, tokens: tokens))
    }

    /// A group under `path` that anyone may call (health checks, the console's files, a public `/metrics`).
    public func unauthenticated(_ path: RouterPath = "") -> RouterGroup<Context> {
        router.group(path).add(middleware: ErrorMiddleware(shape: shape, logger: logger))
    }

    /// The same routes, answering errors in `shape` (the Prometheus-compatible endpoints use `.prometheus`).
    public func with(shape: ErrorShape) -> ScopedRoutes {
        ScopedRoutes(router: router, tokens: tokens, shape: shape, logger: logger)
    }
}
