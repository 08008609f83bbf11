import Foundation
import HTTPTypes
import Hummingbird

/// Gives every request an `X-Request-ID` (the client's, or a new one) and returns it on every response,
/// errors included; errors that are not `APIError`s are answered in the same JSON shape.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Creates the middleware.
    public init() {}

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
        } catch let error as APIError {
            response = try error.response(from: request, context: context)
        } catch let error as HTTPResponseError {
            // Hummingbird's own errors (404, 405, body too large) in the house shape.
            let code = error.status == .notFound ? "not_found" : "http_\(error.status.code)"
            let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            response = try APIError(error.status, code: code, message: message).response(from: request, context: context)
        }
        response.headers[.requestID] = id
        return response
    }
}
