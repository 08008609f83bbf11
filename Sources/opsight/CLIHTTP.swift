import ArgumentParser
import AsyncHTTPClient
import Foundation

/// What `ship` and `query` share to reach a running Opsight: the base URL checked before anything is sent, and an
/// HTTP client that reports a refused connection at once.
enum CLIHTTP {
    /// `text` (from `--url` or `OPSIGHT_URL`) as a base URL without a trailing slash, or a usage error naming it.
    static func baseURL(_ text: String?, environment: [String: String]) throws -> String {
        guard let base = text ?? environment["OPSIGHT_URL"], !base.isEmpty else {
            throw ValidationError("no Opsight URL: pass --url http://HOST:PORT or set OPSIGHT_URL")
        }
        guard let parts = URLComponents(string: base), let scheme = parts.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parts.host, !host.isEmpty,
            parts.query == nil, parts.fragment == nil
        else {
            throw ValidationError(
                "--url '\(base)' is not an http(s) base URL: give the collector's address, e.g. http://127.0.0.1:9400")
        }
        return base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    /// A client that fails a request whose connection is refused instead of retrying the connection silently until
    /// the request's deadline (AsyncHTTPClient's default): `query` says so at once, `ship` retries with its own
    /// backoff and says what it is waiting for.
    static func client() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
