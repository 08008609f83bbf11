import Foundation
import Hummingbird
import Logging

/// Answers every error thrown below it in one shape, through `ErrorMapping`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let shape: ErrorShape
    let logger: Logger?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = ErrorMapping.apiError(for: error, logger: logger, requestID: request.headers[.requestID])
            switch shape {
            case .ops:
                return try mapped.response(from: request, context: context)
            case .prometheus:
                return try mapped.prometheusResponse()
            }
        }
    }
}

extension APIError {
    /// The error in Prometheus's shape: `{"status":"error","errorType":…,"error":…}`; a store outage reads
    /// `store_unavailable: …` so both shapes name it.
    public func prometheusResponse() throws -> Response {
        let text = code == "store_unavailable" ? "store_unavailable: \(message)" : message
        let body: [String: String] = ["status": "error", "errorType": ErrorMapping.prometheusType(self), "error": text]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(body))))
    }
}
