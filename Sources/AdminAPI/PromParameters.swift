import Foundation
import Collector
import Hummingbird
import PromQL

/// Prometheus API parameters from the query string and, for POST, a form-encoded body.
struct PromParameters {
    private var values: [(String, String)] = []

    init(_ request: Request) async throws {
        // The query string is decoded like a form body: Prometheus clients (promtool, Grafana) send
        // `match%5B%5D=` and `+` for spaces in GET requests too.
        values = Self.formDecode(request.uri.query ?? "")
        if request.method == .post {
            var body = try await request.body.collect(upTo: 1 << 20)
            values += Self.formDecode(body.readString(length: body.readableBytes) ?? "")
        }
    }

    /// `application/x-www-form-urlencoded` pairs: names and values percent-decoded, `+` as a space.
    /// Written out rather than through `URLComponents.percentEncodedQuery`, which traps on malformed
    /// percent escapes; a malformed escape here is kept literally and fails later as a bad value.
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

    func all(_ name: String) -> [String] { values.filter { $0.0 == name }.map(\.1) }

    func required(_ name: String) throws -> String {
        guard let v = all(name).last, !v.isEmpty else { throw PromAPIFailure("invalid parameter \"\(name)\": missing") }
        return v
    }

    /// A time parameter (unix seconds or RFC 3339) in milliseconds; nil when absent.
    func time(_ name: String) throws -> Int64? {
        guard let text = all(name).last, !text.isEmpty else { return nil }
        guard let ms = QueryParameters.parseTime(text) else {
            throw PromAPIFailure("invalid parameter \"\(name)\": cannot parse \"\(text)\" to a valid timestamp")
        }
        return ms
    }

    /// `step` as seconds (float) or a duration, in milliseconds.
    func step() throws -> Int64 {
        let text = try required("step")
        if let seconds = Double(text), seconds > 0 { return max(1, Int64(seconds * 1000)) }
        if let ms = PromDuration.milliseconds(text), ms > 0 { return ms }
        throw PromAPIFailure(
            "invalid parameter \"step\": cannot parse \"\(text)\" to a valid duration. It must be a positive value")
    }
}
