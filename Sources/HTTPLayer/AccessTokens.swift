import Foundation
import Hummingbird

/// Bearer tokens and the scopes they carry (`ingest`, `read`, `admin`).
public struct AccessTokens: Sendable {
    /// One configured token.
    public struct Token: Sendable {
        public var name: String
        public var secret: String
        public var scopes: Set<String>
        /// Creates the token.
        public init(name: String, secret: String, scopes: Set<String>) {
            self.name = name
            self.secret = secret
            self.scopes = scopes
        }
    }

    private let bySecret: [String: Token]

    /// Creates the set; tokens with an empty secret are ignored (an unset `${VAR}` must not open the door).
    public init(_ tokens: [Token]) {
        var map: [String: Token] = [:]
        for t in tokens where !t.secret.isEmpty { map[t.secret] = t }
        self.bySecret = map
    }

    /// The secret of `Bearer <token>`, or the password of `Basic base64(user:token)`: tools that speak only
    /// basic auth (Grafana's data source option, `promtool query` with `http://user:token@host`) still get in.
    static func secret(from header: String?) -> String? {
        guard let header else { return nil }
        if header.hasPrefix("Bearer ") {
            let s = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
            return s.isEmpty ? nil : s
        }
        if header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            let s = String(text[text.index(after: colon)...])
            return s.isEmpty ? nil : s
        }
        return nil
    }

    /// The known token of `request`, whatever its scopes; 401 without one.
    @discardableResult
    public func identify(_ request: Request) throws(APIError) -> Token {
        guard let secret = Self.secret(from: request.headers[.authorization]) else {
            throw APIError(
                .unauthorized, code: "unauthorized",
                message: "missing bearer token: send 'Authorization: Bearer <token>' (or Basic auth with the token as password)",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        guard let token = bySecret[secret] else {
            throw APIError(
                .unauthorized, code: "unauthorized", message: "unknown bearer token",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        return token
    }

    /// The token of `request` when it carries `scope`; 401 without a known token, 403 without the scope.
    @discardableResult
    public func authorize(_ request: Request, scope: Scope) throws(APIError) -> Token {
        let token = try identify(request)
        guard token.scopes.contains(scope.rawValue) else {
            throw APIError(
                .forbidden, code: "forbidden", message: "token '\(token.name)' lacks the '\(scope.rawValue)' scope",
                details: ["required_scope": scope.rawValue])
        }
        return token
    }
}
