import Foundation
import Hummingbird
import PromQL

/// The one parser for request parameters (query string and, for POST, a form body): times, durations, steps,
/// limits and quantile lists. Every value is checked before use — non-finite, overflowing and out-of-range values
/// are refused with a 400 that names the parameter and its allowed range (SPEC §7) — so the arithmetic callers do
/// on the results (time ± window, range ÷ step) cannot overflow.
public struct RequestParameters: Sendable {
    /// The earliest time accepted, unix seconds (1970-01-01).
    public static let minTimeSeconds: Int64 = 0
    /// The latest time accepted, unix seconds (2100-01-01).
    public static let maxTimeSeconds: Int64 = 4_102_444_800
    /// The longest window accepted.
    public static let maxWindowMs: Int64 = 31 * 86_400_000
    /// The longest step accepted (ten years): longer steps cannot give a second point in the accepted time range.
    public static let maxStepMs: Int64 = 3650 * 86_400_000
    /// Most quantiles one request may ask for.
    public static let maxQuantiles = 32
    /// Largest form body read, in bytes.
    public static let maxBodyBytes = 1 << 20

    private let values: [(String, String)]

    /// The parameters of `request`: its query string, plus a form-encoded body for POST.
    public init(_ request: Request) async throws {
        var values = Self.formDecode(request.uri.query ?? "")
        if request.method == .post {
            var body = try await Self.body(of: request, upTo: Self.maxBodyBytes, what: "the form body", shorten: "the query")
            values += Self.formDecode(body.readString(length: body.readableBytes) ?? "")
        }
        self.values = values
    }

    /// The body of `request`, refused with a 413 `too_large` that says the cap and what to `shorten` when it holds
    /// more than `maxBytes`.
    public static func body(of request: Request, upTo maxBytes: Int, what: String, shorten: String) async throws
        -> ByteBuffer
    {
        do { return try await request.body.collect(upTo: maxBytes) } catch {
            throw APIError(
                .contentTooLarge, code: "too_large",
                message: "\(what) is larger than \(maxBytes >> 20) MiB; shorten \(shorten)", details: ["parameter": "body"])
        }
    }

    /// Parameters from a query string such as `a=1&b=2`.
    public init(query: String) {
        values = Self.formDecode(query)
    }

    /// `application/x-www-form-urlencoded` pairs: names and values percent-decoded, `+` as a space. Prometheus
    /// clients (promtool, Grafana) and browsers' `URLSearchParams` send `match%5B%5D=` and `+` for spaces in GET
    /// requests too. A malformed percent escape is kept literally and fails later as a bad value, rather than
    /// trapping as `URLComponents.percentEncodedQuery` does.
    static func formDecode(_ text: String) -> [(String, String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decodeComponent(parts[0]), parts.count > 1 ? decodeComponent(parts[1]) : "")
        }
    }

    private static func decodeComponent(_ part: Substring) -> String {
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// The names of the parameters given, in order, each once.
    public var names: [String] {
        var seen = Set<String>()
        return values.map(\.0).filter { seen.insert($0).inserted }
    }

    /// Every value given for `name`, in order (`match[]` repeats).
    public func all(_ name: String) -> [String] { values.filter { $0.0 == name }.map(\.1) }

    /// The last non-empty value of `name`, if any.
    public func optional(_ name: String) -> String? {
        values.last { $0.0 == name && !$0.1.isEmpty }?.1
    }

    /// The last non-empty value of `name` as text to match stored names with, if any: refused when it holds a NUL
    /// byte, which no stored service, route or label value can (ingest refuses control characters in them) and which
    /// PostgreSQL's text cannot hold.
    public func text(_ name: String) throws(APIError) -> String? {
        guard let value = optional(name) else { return nil }
        guard !value.utf8.contains(0) else {
            throw APIError.badRequest(
                "parameter '\(name)' contains a NUL byte (%00), which no stored name holds; remove it", parameter: name)
        }
        return value
    }

    /// A required value.
    public func required(_ name: String) throws(APIError) -> String {
        guard let value = optional(name) else {
            throw APIError.badRequest("missing parameter '\(name)'", parameter: name)
        }
        return value
    }

    /// One of `allowed`, or nil when absent.
    public func oneOf(_ name: String, _ allowed: [String]) throws(APIError) -> String? {
        guard let value = optional(name) else { return nil }
        guard allowed.contains(value) else {
            throw APIError.badRequest(
                "\(name) '\(Self.shown(value))' is not one of \(allowed.joined(separator: ", "))", parameter: name)
        }
        return value
    }

    /// `true` or `false`, or nil when absent.
    public func bool(_ name: String) throws(APIError) -> Bool? {
        try oneOf(name, ["true", "false"]).map { $0 == "true" }
    }

    /// A time as unix seconds (fractions allowed) or RFC 3339, in unix milliseconds; nil when absent.
    public func time(_ name: String) throws(APIError) -> Int64? {
        guard let text = optional(name) else { return nil }
        guard let ms = Self.parseTime(text) else {
            throw APIError.badRequest(
                "\(name) '\(Self.shown(text))' is not a time: give unix seconds from \(Self.minTimeSeconds) to "
                    + "\(Self.maxTimeSeconds) (1970–2100) or RFC 3339 such as 2026-11-22T10:00:00Z",
                parameter: name)
        }
        return ms
    }

    /// A window such as `5m` (default `fallback`) in milliseconds: positive, a multiple of 10 s, at most 31 days.
    public func window(_ name: String = "window", default fallback: String = "5m") throws(APIError) -> (
        text: String, ms: Int64
    ) {
        let text = optional(name) ?? fallback
        guard let ms = PromDuration.milliseconds(text), ms > 0, ms <= Self.maxWindowMs, ms % 10_000 == 0 else {
            throw APIError.badRequest(
                "\(name) '\(Self.shown(text))' is not a window: give a duration from 10s to 31d in whole 10 s, "
                    + "such as 5m, 1h or 1d",
                parameter: name)
        }
        return (text, ms)
    }

    /// A step as seconds (fractions allowed) or a duration, in milliseconds: from 1 ms to ten years; nil when
    /// absent.
    public func step(_ name: String = "step") throws(APIError) -> Int64? {
        guard let text = optional(name) else { return nil }
        var ms: Int64?
        if let seconds = Double(text) {
            if seconds.isFinite, seconds * 1000 >= 1, seconds * 1000 <= Double(Self.maxStepMs) {
                ms = Int64((seconds * 1000).rounded())
            }
        } else if let d = PromDuration.milliseconds(text), d >= 1, d <= Self.maxStepMs {
            ms = d
        }
        guard let ms else {
            throw APIError.badRequest(
                "\(name) '\(Self.shown(text))' is not a step: give a positive number of seconds or a duration "
                    + "from 1ms to 3650d, such as 15 or 1m",
                parameter: name)
        }
        return ms
    }

    /// A whole number in `range`, `fallback` when absent.
    public func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(APIError) -> Int {
        guard let text = optional(name) else { return fallback }
        guard let n = Int(text), range.contains(n) else {
            throw APIError.badRequest(
                "\(name) '\(Self.shown(text))' must be a whole number from \(range.lowerBound) to \(range.upperBound)",
                parameter: name)
        }
        return n
    }

    /// Quantiles from a comma-separated list (default `fallback`), each a number in [0, 1], as written and as values.
    public func quantiles(_ name: String = "q", default fallback: String = "0.5,0.95,0.99") throws(APIError) -> [(
        key: String, q: Double
    )] {
        let text = optional(name) ?? fallback
        var out: [(String, Double)] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let key = part.trimmingCharacters(in: .whitespaces)
            guard let q = Double(key), q.isFinite, q >= 0, q <= 1 else {
                throw APIError.badRequest(
                    "quantile '\(Self.shown(key))' in \(name) is not a number from 0 to 1", parameter: name)
            }
            out.append((key, q))
        }
        guard !out.isEmpty, out.count <= Self.maxQuantiles else {
            throw APIError.badRequest("\(name) must name 1 to \(Self.maxQuantiles) quantiles", parameter: name)
        }
        return out
    }

    /// Checks that `from...to` at `step` gives at most `maxPoints` points (both ends already parsed, so the
    /// subtraction cannot overflow); names `stepName` in the error.
    public static func checkPoints(
        from: Int64, to: Int64, step: Int64, maxPoints: Int64, stepName: String = "step"
    ) throws(APIError) {
        guard (to - from) / step + 1 <= maxPoints else {
            throw APIError.badRequest(
                "this range at this \(stepName) gives more than \(maxPoints) points; use a larger \(stepName) "
                    + "or a shorter range",
                parameter: stepName)
        }
    }

    /// Unix seconds (fractions allowed) or RFC 3339 to unix milliseconds; nil when it is neither or outside
    /// 1970–2100.
    public static func parseTime(_ text: String) -> Int64? {
        var seconds: Double?
        if let number = Double(text) {
            seconds = number
        } else {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let d = f.date(from: text) {
                seconds = d.timeIntervalSince1970
            } else {
                f.formatOptions = [.withInternetDateTime]
                seconds = f.date(from: text)?.timeIntervalSince1970
            }
        }
        guard let seconds, seconds.isFinite, seconds >= Double(minTimeSeconds), seconds <= Double(maxTimeSeconds)
        else { return nil }
        return Int64((seconds * 1000).rounded())
    }

    /// A value as echoed in an error: at most 64 characters, control characters escaped.
    public static func shown(_ text: String) -> String {
        let cut = text.count > 64 ? String(text.prefix(64)) + "…" : text
        return String(
            String.UnicodeScalarView(
                cut.unicodeScalars.flatMap { s in
                    s.value < 0x20 || s.value == 0x7F ? Array("\\u{\(String(s.value, radix: 16))}".unicodeScalars) : [s]
                }))
    }
}
