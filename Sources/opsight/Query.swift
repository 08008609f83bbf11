import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// `opsight query EXPR`: evaluates a PromQL-subset expression on a running Opsight and prints a table.
struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a PromQL-subset expression against a running Opsight and print the result as a table.")

    @Argument(help: "Expression, e.g. 'opsight_service_error_ratio{window=\"5m\"} > 0.01'.")
    var expression: String

    @Option(help: "Evaluation time: unix seconds or RFC 3339 (default: now).")
    var time: String?

    @Option(help: "Opsight base URL (or OPSIGHT_URL).")
    var url: String?

    @Option(help: "Token with the read scope (or OPSIGHT_TOKEN).")
    var token: String?

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let base = try CLIHTTP.baseURL(url, environment: env)
        var form = URLComponents()
        form.queryItems = [URLQueryItem(name: "query", value: expression)] + (time.map { [URLQueryItem(name: "time", value: $0)] } ?? [])
        var request = HTTPClientRequest(url: base + "/api/v1/query")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        if let t = token ?? env["OPSIGHT_TOKEN"], !t.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(t)") }
        request.body = .bytes(ByteBuffer(string: (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")))
        let client = CLIHTTP.client()
        let answer: (status: UInt, body: Data)
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 64 << 20)
            answer = (response.status.code, Data(buffer: body))
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw CommandFailure("cannot reach \(base): \(error)")
        }
        let json = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any] ?? [:]
        guard json["status"] as? String == "success", let data = json["data"] as? [String: Any] else {
            throw CommandFailure("\(json["error"] as? String ?? "HTTP \(answer.status): \(String(decoding: answer.body, as: UTF8.self))")")
        }
        print(Self.table(data), terminator: "")
    }

    /// Rows of labels and value, columns aligned.
    static func table(_ data: [String: Any]) -> String {
        if data["resultType"] as? String == "scalar", let pair = data["result"] as? [Any], pair.count == 2 {
            return "\(pair[1])\n"
        }
        let result = data["result"] as? [[String: Any]] ?? []
        if result.isEmpty { return "(no series)\n" }
        let metrics = result.map { $0["metric"] as? [String: String] ?? [:] }
        let values = result.map { (($0["value"] as? [Any])?.last as? String) ?? "" }
        var names = Set(metrics.flatMap(\.keys)).sorted()
        if let i = names.firstIndex(of: "__name__") { names.insert(names.remove(at: i), at: 0) }
        let header = names + ["value"]
        let rows = zip(metrics, values).map { m, v in names.map { m[$0] ?? "" } + [v] }
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces) + "\n"
        }
        return line(header) + rows.map(line).joined()
    }
}
