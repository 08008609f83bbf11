import Collector
import Foundation
import Hummingbird
import PromQL

/// Parsing of the query parameters the ops endpoints share, with 400s that name the parameter.
struct QueryParameters {
    let request: Request

    /// A required string parameter.
    func required(_ name: String) throws(APIError) -> String {
        guard let v = request.uri.queryParameters.get(name), !v.isEmpty else {
            throw APIError.badRequest("missing query parameter '\(name)'", parameter: name)
        }
        return v
    }

    /// An optional string parameter.
    func optional(_ name: String) -> String? {
        request.uri.queryParameters.get(name).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `window` as a Prometheus duration (default `5m`), in milliseconds.
    func window(default text: String = "5m") throws(APIError) -> (text: String, ms: Int64) {
        let text = optional("window") ?? text
        guard let ms = PromDuration.milliseconds(text), ms > 0 else {
            throw APIError.badRequest("window '\(text)' is not a duration such as 5m, 1h or 1d", parameter: "window")
        }
        return (text, ms)
    }

    /// A time parameter (default `time`) as unix seconds or RFC 3339, in unix milliseconds; nil when absent
    /// (now).
    func time(_ name: String = "time") throws(APIError) -> Int64? {
        guard let text = optional(name) else { return nil }
        guard let ms = Self.parseTime(text) else {
            throw APIError.badRequest(
                "\(name) '\(text)' is neither unix seconds nor RFC 3339 (e.g. 2026-11-22T10:00:00Z)", parameter: name)
        }
        return ms
    }

    /// Quantiles from `q` (comma-separated, each in [0, 1]); default 0.5, 0.95, 0.99.
    func quantiles(default fallback: String = "0.5,0.95,0.99") throws(APIError) -> [(key: String, q: Double)] {
        let text = optional("q") ?? fallback
        var out: [(String, Double)] = []
        for part in text.split(separator: ",") {
            let key = part.trimmingCharacters(in: .whitespaces)
            guard let q = Double(key), q >= 0, q <= 1 else {
                throw APIError.badRequest("quantile '\(key)' is not a number between 0 and 1", parameter: "q")
            }
            out.append((key, q))
        }
        guard !out.isEmpty else { throw APIError.badRequest("q names no quantile", parameter: "q") }
        return out
    }

    /// Unix seconds (fractions allowed) or RFC 3339 to unix milliseconds.
    static func parseTime(_ text: String) -> Int64? {
        if let seconds = Double(text), seconds.isFinite { return Int64((seconds * 1000).rounded()) }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: text) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        return nil
    }
}
