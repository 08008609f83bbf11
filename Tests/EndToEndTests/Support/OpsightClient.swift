import AsyncHTTPClient
import CompressNIO
import Foundation
import NIOCore

/// An HTTP answer, fully read.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: Data

    /// The body as UTF-8 text, for messages.
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The first header of that name (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body decoded as `T`; the error names the body when the shape is wrong.
    func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch {
            throw E2EError("HTTP \(status) body is not a \(T.self): \(error)\nbody: \(text.prefix(2000))")
        }
    }
}

/// Talks to one `OpsightServer` over HTTP with the shared AsyncHTTPClient.
struct OpsightClient: Sendable {
    let server: OpsightServer

    enum Method: Sendable { case get, post, delete }

    /// Sends one request and reads the whole answer.
    func request(
        _ method: Method, _ path: String, token: String?, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: TimeAmount = .seconds(30)
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: server.baseURL + path)
        request.method = method == .get ? .GET : method == .post ? .POST : .DELETE
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return HTTPResult(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Data(buffer.readableBytesView))
    }

    /// `POST /v1/ingest` with the ops token (unless another is given), optionally gzip'd.
    func ingest(
        _ body: [UInt8], gzip: Bool = false, token: String? = nil, contentType: String = "application/x-ndjson",
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> HTTPResult {
        var all = headers + [("Content-Type", contentType)]
        var payload = body
        if gzip {
            payload = try Self.gzip(body)
            all.append(("Content-Encoding", "gzip"))
        }
        return try await request(
            .post, "/v1/ingest", token: token ?? server.opsToken, headers: all, body: payload, timeout: timeout)
    }

    /// A GET with the read-only token that must answer 200 with a `T`.
    func get<T: Decodable>(_ path: String, query: [(String, String)] = [], as type: T.Type = T.self) async throws -> T {
        let full = path + Self.queryString(query)
        let r = try await request(.get, full, token: server.readToken)
        guard r.status == 200 else { throw E2EError("GET \(full) answered \(r.status): \(r.text.prefix(1000))") }
        return try r.decode(T.self)
    }

    /// `?a=b&c=d` with strict percent-encoding (`+` and `:` in values survive).
    static func queryString(_ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~,")
        let encoded = items.map { name, value in
            // Names are encoded too (`match%5B%5D`), as Prometheus clients send them.
            "\(name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name)="
                + "\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }
        return "?" + encoded.joined(separator: "&")
    }

    /// gzip of `bytes`.
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: bytes)
        let compressed = try buffer.compress(with: .gzip())
        return Array(compressed.readableBytesView)
    }
}
