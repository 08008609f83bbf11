import Foundation
import HTTPTypes
import Hummingbird

/// Gives every request an `X-Request-ID` (the client's, or a new one) and returns it on every response,
/// errors included; errors no route group answered (unknown paths) get the same JSON shape.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Creates the middleware.
    public init() {}

    /// Runs the request with an id and gives the response the same id.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var request = request
        let id: String
        if let given = request.headers[.requestID], !given.isEmpty, given.utf8.count <= 200 {
            id = given
        } else {
            id = UUID().uuidString.lowercased()
            var head = request.head
            head.headerFields[.requestID] = id
            request = Request(head: head, body: request.body)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // What no route group answered (an unknown path, a wrong method) in the house shape.
            response = try ErrorMapping.apiError(for: error, requestID: id).response(from: request, context: context)
        }
        response.headers[.requestID] = id
        return response
    }
}
