import Foundation
import PostgresNIO

/// A `postgres://user[:password]@host[:port]/database` URL as postgres-nio's client configuration: the one parser
/// for `opsight` and the AssessmentService.
public struct PostgresURL: Sendable {
    /// Why a URL cannot be used, saying which part is wrong.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    /// Parses `text`; the error says which part is wrong.
    public init(_ text: String) throws(Invalid) {
        guard let c = URLComponents(string: text), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw Invalid(message: "database URL '\(text)' must look like postgres://user@host:5432/database")
        }
        guard let host = c.host, !host.isEmpty else { throw Invalid(message: "database URL '\(text)' has no host") }
        guard let user = c.user, !user.isEmpty else {
            throw Invalid(message: "database URL '\(text)' has no user (postgres://USER@host/db)")
        }
        let db = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        guard !db.isEmpty else { throw Invalid(message: "database URL '\(text)' names no database") }
        self.host = host
        self.port = c.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = c.password?.removingPercentEncoding
        self.database = db
    }

    /// The client configuration (no TLS: the stores are on loopback or a private network).
    public var clientConfiguration: PostgresClient.Configuration {
        PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
    }
}
