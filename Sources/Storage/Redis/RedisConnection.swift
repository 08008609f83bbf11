import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One blocking connection to Redis over hiredis.
///
/// hiredis is blocking and not thread-safe, so a connection belongs to one thread at a time; it is deliberately not
/// `Sendable`. Async code uses ``RedisClient``, which owns connections on dedicated threads.
///
/// Error replies (for example `WRONGTYPE`) come back as ``RedisReply/error(_:)``. Thrown ``RedisError``s with code
/// ``RedisError/Code/io`` or ``RedisError/Code/protocol`` leave the connection ``isBroken``: every later call throws,
/// and the owner must create a new connection.
///
/// Writing to a socket the server has closed raises `SIGPIPE` (hiredis uses plain `write`). ``RedisClient``'s
/// threads block it; other owners must ignore or block `SIGPIPE` themselves.
public final class RedisConnection {
    /// Where this connection goes.
    public let url: RedisURL
    /// The socket timeout for connecting, reading and writing.
    public let timeout: Duration
    /// Whether an I/O or protocol failure made this connection unusable.
    public private(set) var isBroken = false

    private let context: UnsafeMutablePointer<redisContext>
    private var brokenBy: RedisError?

    /// Connects, then authenticates (`AUTH`) and selects the database (`SELECT`) as the URL asks.
    ///
    /// - Throws: ``RedisError/Code/connection`` when the server is unreachable or refuses `AUTH`/`SELECT`.
    public init(url: RedisURL, timeout: Duration = .seconds(5)) throws(RedisError) {
        let time = Self.makeTimeval(timeout)
        guard let context = redisConnectWithTimeout(url.host, Int32(clamping: url.port), time) else {
            throw RedisError(code: .connection, message: "could not allocate a hiredis context for \(url)")
        }
        if context.pointee.err != 0 {
            let reason = Self.errorText(context)
            redisFree(context)
            throw RedisError(
                code: .connection,
                message: "could not connect to \(url): \(reason); is redis-server running and reachable?"
            )
        }
        if redisSetTimeout(context, time) != REDIS_OK {
            let reason = Self.errorText(context)
            redisFree(context)
            throw RedisError(code: .connection, message: "could not set socket timeouts for \(url): \(reason)")
        }
        self.context = context
        self.url = url
        self.timeout = timeout
        try handshake()
    }

    deinit {
        redisFree(context)
    }

    /// Sends one command and waits for its reply.
    public func command(_ args: [RESPArg]) throws(RedisError) -> RedisReply {
        var commands = RESPCommands()
        commands.append(args)
        try send(commands.bytes)
        return try receive()
    }

    /// Sends one command and waits for its reply, for example `command("GET", key)`.
    public func command(_ args: RESPArg...) throws(RedisError) -> RedisReply {
        try command(args)
    }

    /// Writes every command of the batch at once, then reads one reply per command, in order.
    public func pipeline(_ commands: RESPCommands) throws(RedisError) -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        try send(commands.bytes)
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in 0..<commands.count {
            replies.append(try receive())
        }
        return replies
    }

    // MARK: - Internals shared with the transaction helper

    /// Queues encoded commands in hiredis's output buffer; nothing is written until ``receive()``.
    func send(_ bytes: [UInt8]) throws(RedisError) {
        if let brokenBy { throw reuseError(brokenBy) }
        let status = bytes.withUnsafeBytes { raw in
            redisAppendFormattedCommand(context, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
        }
        if status != REDIS_OK {
            throw markBroken(RedisError(code: .io, message: "could not buffer a command for \(url): out of memory"))
        }
    }

    /// Flushes the output buffer if needed and reads the next reply.
    func receive() throws(RedisError) -> RedisReply {
        if let brokenBy { throw reuseError(brokenBy) }
        var raw: UnsafeMutableRawPointer?
        let status = redisGetReply(context, &raw)
        let savedErrno = errno
        guard status == REDIS_OK, let raw else {
            throw markBroken(ioError(errno: savedErrno))
        }
        defer { freeReplyObject(raw) }
        do {
            return try Self.convert(raw.assumingMemoryBound(to: redisReply.self))
        } catch {
            throw markBroken(error)
        }
    }

    // MARK: - Private

    private func handshake() throws(RedisError) {
        var commands = RESPCommands()
        if let password = url.password {
            if let username = url.username {
                commands.append("AUTH", .string(username), .string(password))
            } else {
                commands.append("AUTH", .string(password))
            }
        }
        if url.database != 0 {
            commands.append("SELECT", .int(Int64(url.database)))
        }
        let replies: [RedisReply]
        do {
            replies = try pipeline(commands)
        } catch {
            throw RedisError(code: .connection, message: "could not set up the connection to \(url): \(error.message)")
        }
        for reply in replies {
            if case .error(let message) = reply {
                throw RedisError(
                    code: .connection,
                    message:
                        "Redis at \(url) refused AUTH/SELECT: \(message); check the password and database in the URL"
                )
            }
        }
    }

    private func markBroken(_ error: RedisError) -> RedisError {
        isBroken = true
        brokenBy = error
        return error
    }

    private func reuseError(_ cause: RedisError) -> RedisError {
        RedisError(
            code: cause.code, message: "connection to \(url) is unusable after an earlier failure: \(cause.message)")
    }

    private func ioError(errno savedErrno: Int32) -> RedisError {
        let reason = Self.errorText(context)
        switch context.pointee.err {
        case REDIS_ERR_PROTOCOL:
            return RedisError(code: .protocol, message: "malformed reply from \(url): \(reason)")
        case REDIS_ERR_IO where savedErrno == EAGAIN || savedErrno == EWOULDBLOCK:
            return RedisError(code: .io, message: "timed out after \(timeout) waiting for \(url)")
        default:
            return RedisError(code: .io, message: "lost the connection to \(url): \(reason)")
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) throws(RedisError) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_STRING:
            return .bulk(Array(UnsafeRawBufferPointer(start: value.str, count: value.len)))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: UnsafeRawBufferPointer(start: value.str, count: value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: UnsafeRawBufferPointer(start: value.str, count: value.len), as: UTF8.self))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                guard let element = value.element[index] else {
                    throw RedisError(code: .protocol, message: "array reply has a missing element")
                }
                elements.append(try convert(element))
            }
            return .array(elements)
        default:
            // Only RESP3 (after `HELLO 3`) produces other types; this client speaks RESP2.
            throw RedisError(code: .protocol, message: "unsupported reply type \(value.type); only RESP2 is supported")
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let text = raw.prefix { $0 != 0 }
            return text.isEmpty
                ? "unknown error (hiredis code \(context.pointee.err))" : String(decoding: text, as: UTF8.self)
        }
    }

    private static func makeTimeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        return timeval(
            tv_sec: time_t(clamping: max(seconds, 0)),
            tv_usec: suseconds_t(clamping: max(attoseconds, 0) / 1_000_000_000_000)
        )
    }
}

@available(*, unavailable, message: "RedisConnection wraps a thread-unsafe hiredis context; use RedisClient")
extension RedisConnection: Sendable {}
