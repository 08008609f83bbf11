import Hummingbird

/// Lets a request through only when its token carries `scope` (401 without a known token, 403 without the scope);
/// with no scope, any known token will do.
struct ScopeMiddleware<Context: RequestContext>: RouterMiddleware {
    let scope: Scope?
    let tokens: AccessTokens

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let scope { try tokens.authorize(request, scope: scope) } else { try tokens.identify(request) }
        return try await next(request, context)
    }
}
