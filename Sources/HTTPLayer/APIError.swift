import Foundation
import HTTPTypes
import Hummingbird

/// An error answered as `{"error": {"code", "message", "details", "request_id"}}` (SPEC §7).
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// Machine-readable code, e.g. `bad_request`, `unauthorized`.
    public var code: String
    public var message: String
    public var details: [String: String]
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields

    /// Creates the error.
    public init(
        _ status: HTTPResponse.Status, code: String, message: String, details: [String: String] = [:],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    /// A 400 naming the parameter at fault.
    public static func badRequest(_ message: String, parameter: String? = nil) -> APIError {
        APIError(.badRequest, code: "bad_request", message: message, details: parameter.map { ["parameter": $0] } ?? [:])
    }

    /// A 503 for a store that did not answer, with `Retry-After`.
    public static func storeUnavailable(_ message: String) -> APIError {
        APIError(.serviceUnavailable, code: "store_unavailable", message: message, headers: [.retryAfter: "5"])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let id = request.headers[.requestID] ?? ""
        let body = APIErrorBody(error: .init(code: code, message: message, details: details, request_id: id))
        var headers = self.headers
        headers[.contentType] = "application/json"
        let data = try JSONEncoder().encode(body)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The JSON shape of an `APIError`.
private struct APIErrorBody: Encodable {
    struct Inner: Encodable {
        var code: String
        var message: String
        var details: [String: String]
        var request_id: String
    }
    var error: Inner
}

extension HTTPField.Name {
    /// `X-Request-ID`, echoed or generated on every response.
    public static let requestID = HTTPField.Name("X-Request-ID")!
}
