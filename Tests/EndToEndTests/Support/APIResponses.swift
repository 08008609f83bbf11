/// The JSON shapes of SPEC §4 and §7 the end-to-end tests read; decoding fails loudly on a wrong shape.

/// `POST /v1/ingest` → 200.
struct IngestAnswer: Decodable, Sendable {
    struct LineError: Decodable, Sendable {
        var line: Int
        var error: String
    }
    var accepted: Int
    var rejected: Int
    var errors: [LineError]
}

/// `GET /api/v1/latency`.
struct LatencyAnswer: Decodable, Sendable {
    var service: String
    var route: String?
    var method: String?
    var window: String
    var time: Double
    var count: Int
    var quantiles: [String: Double?]
}

/// `GET /api/v1/services`.
struct ServicesAnswer: Decodable, Sendable {
    struct Jobs: Decodable, Sendable {
        var succeeded: Int
        var failed: Int
        var failureRatio: Double?

        enum CodingKeys: String, CodingKey {
            case succeeded, failed
            case failureRatio = "failure_ratio"
        }
    }
    struct Service: Decodable, Sendable {
        var service: String
        var requests: Int
        var errors: Int
        var clientErrors: Int
        var requestRate: Double
        var errorRatio: Double?
        var latency: [String: Double?]
        var jobs: Jobs

        enum CodingKeys: String, CodingKey {
            case service, requests, errors, latency, jobs
            case clientErrors = "client_errors"
            case requestRate = "request_rate"
            case errorRatio = "error_ratio"
        }
    }
    var window: String
    var time: Double
    var services: [Service]

    /// The entry of one service, if listed.
    subscript(name: String) -> Service? { services.first { $0.service == name } }
}

/// `GET /api/v1/services/S/routes`.
struct RoutesAnswer: Decodable, Sendable {
    struct Route: Decodable, Sendable {
        var route: String
        var method: String
        var requests: Int
        var errors: Int
        var clientErrors: Int
        var requestRate: Double
        var errorRatio: Double?
        var latency: [String: Double?]

        enum CodingKeys: String, CodingKey {
            case route, method, requests, errors, latency
            case clientErrors = "client_errors"
            case requestRate = "request_rate"
            case errorRatio = "error_ratio"
        }
    }
    var service: String
    var window: String
    var time: Double
    var routes: [Route]
}

/// The ops API's error shape: `{"error": {"code", "message", "details", "request_id"}}`.
struct ErrorAnswer: Decodable, Sendable {
    struct Inner: Decodable, Sendable {
        var code: String
        var message: String
        /// Present (any JSON value); its content is free-form.
        var details: AnyJSON
        var requestID: String

        enum CodingKeys: String, CodingKey {
            case code, message, details
            case requestID = "request_id"
        }
    }
    var error: Inner
}

/// Any JSON value, only checked for presence.
struct AnyJSON: Decodable, Sendable {
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { return }
        if (try? c.decode([String: AnyJSON].self)) != nil { return }
        if (try? c.decode([AnyJSON].self)) != nil { return }
        if (try? c.decode(Double.self)) != nil { return }
        if (try? c.decode(Bool.self)) != nil { return }
        _ = try c.decode(String.self)
    }
}
