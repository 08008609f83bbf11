import Foundation
import PostgresNIO

/// A `postgres://user[:password]@host[:port]/database` URL as postgres-nio's client configuration.
public struct DatabaseURL: Sendable {
    /// The server's host.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The role to connect as.
    public var username: String
    /// The role's password, when the URL has one.
    public var password: String?
    /// The database name.
    public var database: String

    /// Parses `text`; the error says which part is wrong.
    public init(_ text: String) throws(AssessmentError) {
        guard let c = URLComponents(string: text), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw AssessmentError(
                .invalidConfiguration, "database URL '\(text)' must look like postgres://user@host:5432/db")
        }
        guard let host = c.host, !host.isEmpty else {
            throw AssessmentError(.invalidConfiguration, "database URL '\(text)' has no host")
        }
        guard let user = c.user, !user.isEmpty else {
            throw AssessmentError(.invalidConfiguration, "database URL '\(text)' has no user (postgres://USER@host/db)")
        }
        let db = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        guard !db.isEmpty else {
            throw AssessmentError(.invalidConfiguration, "database URL '\(text)' names no database")
        }
        self.host = host
        self.port = c.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = c.password?.removingPercentEncoding
        self.database = db
    }

    /// The client configuration (no TLS: the database is on loopback or a private network).
    public var clientConfiguration: PostgresClient.Configuration {
        PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
    }
}
