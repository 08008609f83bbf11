/// An error from the Redis client: a failed connection, broken I/O, a malformed reply, a server-side failure,
/// an aborted transaction, an invalid URL or use after shutdown.
///
/// Error *replies* to ordinary commands (for example `WRONGTYPE`) are not thrown; they come back as
/// ``RedisReply/error(_:)`` so that one failing command in a pipeline does not hide the other replies.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure happened; extensible, so switch with a `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connection
            case io
            case `protocol`
            case server
            case transactionAborted
            case invalidURL
            case shutdown
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// Connecting, authenticating or selecting the database failed; the connection was never usable.
        public static let connection = Code(.connection)
        /// Reading or writing the socket failed (closed by the server, reset, timed out); the connection is dropped.
        public static let io = Code(.io)
        /// The server sent something that is not valid RESP; the connection is dropped.
        public static let `protocol` = Code(.protocol)
        /// The server refused a command that the client needed to succeed (for example inside a transaction).
        public static let server = Code(.server)
        /// `EXEC` returned null because a watched key changed; retrying the transaction is safe.
        public static let transactionAborted = Code(.transactionAborted)
        /// A `redis://` URL could not be parsed.
        public static let invalidURL = Code(.invalidURL)
        /// The ``RedisClient`` was shut down before the work could run.
        public static let shutdown = Code(.shutdown)

        /// The code's name, for example `io`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure happened.
    public var code: Code
    /// A human-readable explanation that says what went wrong and, where possible, what to do.
    public var message: String

    /// Creates an error with a code and an explanation.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `redis <code> error: <message>`.
    public var description: String { "redis \(code) error: \(message)" }
}
