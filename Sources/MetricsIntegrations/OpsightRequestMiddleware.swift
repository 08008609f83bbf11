import Foundation
import HTTPTypes
import Hummingbird
import OpsightMetrics

/// Records every request as a `kind: request` event: method, route template, status and duration.
///
/// The route is Hummingbird's `context.endpointPath` with `{name}` parameters written `:name` (the
/// schema's template style), or ``unmatchedRoute`` when no route matched. A thrown error counts with its
/// HTTP status (`HTTPResponseError`) or 500, and is turned into its response here so that the response can
/// carry the `X-Request-ID`: the client's when it sent a usable one, else a new UUID. Add it as the
/// router's first middleware so the recorded duration covers the others. The duration ends when the
/// handler returns the response head, not when a streamed body has been written.
public struct OpsightRequestMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The header carrying the request id.
    public static var requestIDHeader: HTTPField.Name { HTTPField.Name("X-Request-ID")! }

    /// Where events go.
    public let emitter: OpsightEmitter
    /// The route recorded for requests that matched no route.
    public let unmatchedRoute: String

    /// Creates the middleware.
    public init(emitter: OpsightEmitter, unmatchedRoute: String = "NotFound") {
        self.emitter = emitter
        self.unmatchedRoute = unmatchedRoute
    }

    /// Runs the request, records it and sets `X-Request-ID` on the response.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var request = request
        let id: String
        if let given = request.headers[Self.requestIDHeader], !given.isEmpty, given.utf8.count <= 200 {
            id = given
        } else {
            id = UUID().uuidString.lowercased()
            var head = request.head
            head.headerFields[Self.requestIDHeader] = id
            request = Request(head: head, body: request.body)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            response = Response(status: .internalServerError)
        }
        response.headers[Self.requestIDHeader] = id
        emitter.request(
            route: context.endpointPath.map(Self.template) ?? unmatchedRoute,
            method: request.method.rawValue,
            status: Int(response.status.code),
            duration: ContinuousClock.now - start,
            requestID: id
        )
        return response
    }

    /// Hummingbird's `/users/{id}` in the schema's style: `/users/:id` (other components unchanged).
    public static func template(_ endpointPath: String) -> String {
        guard endpointPath.contains("{") else { return endpointPath }
        var result = ""
        result.reserveCapacity(endpointPath.utf8.count)
        var inParameter = false
        for character in endpointPath {
            switch character {
            case "{" where !inParameter:
                inParameter = true
                result.append(":")
            case "}" where inParameter:
                inParameter = false
            default:
                result.append(character)
            }
        }
        return result
    }
}
