import ServiceLifecycle

/// A `Sendable`, async façade over a small pool of ``RedisConnection``s, each owned by a dedicated thread.
///
/// Work passed to ``withConnection(_:)`` is queued to the least busy thread and the caller resumes when it is done.
/// A connection that fails with an I/O or protocol error is dropped: that call throws, and the next call on that
/// thread reconnects. As a `Service` it lives until graceful shutdown and then shuts down; ``shutdown()`` also
/// works on its own.
public final class RedisClient: Service, Sendable {
    /// Where the connections go.
    public let url: RedisURL
    private let workers: [RedisWorker]

    /// Prepares `connections` threads; each starts and connects lazily on its first use, with `timeout` for socket
    /// operations.
    public init(url: RedisURL, connections: Int = 2, timeout: Duration = .seconds(5)) {
        precondition(connections > 0, "a RedisClient needs at least one connection")
        self.url = url
        self.workers = (0..<connections).map { index in
            RedisWorker(url: url, timeout: timeout, name: "redis-\(index)")
        }
    }

    deinit {
        shutdown()
    }

    /// Runs `body` on one of the pool's threads with that thread's connection and returns its result.
    ///
    /// `body` blocks a pool thread while it runs: keep it to Redis calls and do not keep the connection. The call is
    /// not cancellable once queued.
    ///
    /// - Throws: what `body` throws; ``RedisError/Code/connection`` when (re)connecting fails;
    ///   ``RedisError/Code/shutdown`` after ``shutdown()``.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        let worker = workers.min { $0.load < $1.load }!
        return try await withCheckedThrowingContinuation { continuation in
            let job = RedisWorker.Job(
                run: { connection in continuation.resume(with: Result { try body(connection) }) },
                fail: { error in continuation.resume(throwing: error) }
            )
            if !worker.submit(job) {
                continuation.resume(
                    throwing: RedisError(code: .shutdown, message: "the RedisClient for \(url) has been shut down")
                )
            }
        }
    }

    /// Sends one command on a pool connection and returns its reply.
    public func command(_ args: [RESPArg]) async throws -> RedisReply {
        try await withConnection { try $0.command(args) }
    }

    /// Sends one command on a pool connection, for example `command("GET", key)`.
    public func command(_ args: RESPArg...) async throws -> RedisReply {
        try await command(args)
    }

    /// Runs ``RedisConnection/pipeline(_:)`` on a pool connection.
    public func pipeline(_ commands: RESPCommands) async throws -> [RedisReply] {
        try await withConnection { try $0.pipeline(commands) }
    }

    /// Runs ``RedisConnection/transaction(_:)`` on a pool connection.
    public func transaction(_ commands: RESPCommands) async throws -> [RedisReply] {
        try await withConnection { try $0.transaction(commands) }
    }

    /// Waits for graceful shutdown, then shuts the connections down (queued work finishes first).
    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
    }

    /// Rejects new work, lets queued work finish, closes the connections and waits for the threads to end.
    ///
    /// Idempotent. Called from inside ``withConnection(_:)`` it does not wait for the calling thread.
    public func shutdown() {
        for worker in workers {
            worker.stop()
        }
    }
}
