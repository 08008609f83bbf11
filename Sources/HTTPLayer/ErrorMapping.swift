import Collector
import Hummingbird
import Logging
import NIOHTTP1
import PromQL

/// The one place that turns any error a handler throws into the API's answer: its status, code and message.
public enum ErrorMapping {
    /// The `APIError` answering `error`; errors nobody anticipated become a 500 that hides their text (it can name
    /// hosts or SQL) and are logged with the request id instead.
    public static func apiError(for error: any Error, logger: Logger? = nil, requestID: String? = nil) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as PromQLError:
            return promQL(error)
        case let error as any StoreFailure where error.isOutage:
            return .storeUnavailable("\(error.storeName) is unavailable: \(error)")
        case let error as CollectorError:
            return collector(error)
        case is CancellationError:
            return APIError(
                .serviceUnavailable, code: "timeout", message: "the request was cancelled before it finished",
                headers: [.retryAfter: "5"])
        case let error as HTTPParserError:
            // A body that stops being valid HTTP mid-request (a malformed chunk): the client's fault, said as such.
            let (status, code, message) = MalformedRequestHandler.answer(error)
            return APIError(status, code: code, message: message)
        case let error as HTTPResponseError:
            // Hummingbird's own errors (404, 405, body too large) in the house shape.
            let code = error.status == .notFound ? "not_found" : "http_\(error.status.code)"
            let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            return APIError(error.status, code: code, message: message)
        default:
            logger?.error(
                "unexpected error answering a request",
                metadata: ["error": "\(String(reflecting: error))", "request_id": "\(requestID ?? "")"])
            return APIError(
                .internalServerError, code: "internal",
                message: "internal error; the server log has the details under this request id")
        }
    }

    private static func promQL(_ error: PromQLError) -> APIError {
        switch error.code {
        case .timeout:
            return APIError(.serviceUnavailable, code: "timeout", message: error.message, headers: [.retryAfter: "5"])
        case .limit:
            return APIError(.unprocessableContent, code: "too_many_series", message: error.message)
        case .execution:
            return APIError(.unprocessableContent, code: "execution", message: "\(error)")
        default:
            return APIError(
                .badRequest, code: "bad_query", message: "\(error)",
                details: ["parameter": "query", "line": "\(error.position.line)", "column": "\(error.position.column)"])
        }
    }

    private static func collector(_ error: CollectorError) -> APIError {
        switch error.code {
        case .invalid:
            return .badRequest(error.message)
        case .overloaded:
            return APIError(.tooManyRequests, code: "overloaded", message: error.message, headers: [.retryAfter: "1"])
        case .walFull:
            return APIError(.serviceUnavailable, code: "wal_full", message: error.message, headers: [.retryAfter: "5"])
        default:
            return APIError(
                .serviceUnavailable, code: "unavailable", message: error.message, headers: [.retryAfter: "5"])
        }
    }

    /// Prometheus's `errorType` for an error answered with `status` and `code`.
    static func prometheusType(_ error: APIError) -> String {
        switch (error.status.code, error.code) {
        case (_, "timeout"): "timeout"
        case (400, _), (413, _): "bad_data"
        case (401, _): "unauthorized"
        case (403, _): "forbidden"
        case (404, _): "not_found"
        case (422, _): "execution"
        case (503, _): "unavailable"
        default: "internal"
        }
    }
}
