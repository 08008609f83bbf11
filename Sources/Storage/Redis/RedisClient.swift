import ServiceLifecycle
import Synchronization

/// A `Sendable`, async façade over a small pool of ``RedisConnection``s, each owned by a dedicated thread.
///
/// Work passed to ``withConnection(_:)`` is queued to the least busy thread and the caller resumes when it is done.
/// A connection that fails with an I/O or protocol error is dropped: that call throws, and the next call on that
/// thread reconnects. As a `Service` it lives until graceful shutdown and then shuts down; ``shutdown()`` also
/// works on its own.
///
/// For a Redis Cluster URL (`redis+cluster://`), ``command(_:)-([RESPArg])``, ``pipeline(_:)`` and
/// ``transaction(_:)`` route each command by its key's slot to the master that holds it, `connections` threads per
/// master, following `MOVED` and `ASK` redirects; a transaction becomes one `MULTI` per slot (see
/// `RedisClient+Cluster.swift`).
public final class RedisClient: Service, Sendable {
    /// Where the connections go.
    public let url: RedisURL
    private let workers: [RedisWorker]
    let cluster: RedisCluster?
    /// The SHA1 Redis names the guard script of ``guardedPerSlot(_:guard:journal:)`` by, once loaded.
    let guardScriptSHA = Mutex<String?>(nil)

    /// Prepares `connections` threads (per master node, for a cluster); each starts and connects lazily on its first
    /// use, with `timeout` for socket operations.
    public init(url: RedisURL, connections: Int = 2, timeout: Duration = .seconds(5)) {
        precondition(connections > 0, "a RedisClient needs at least one connection")
        self.url = url
        if url.isCluster {
            self.workers = []
            self.cluster = RedisCluster(url: url, connectionsPerNode: connections, timeout: timeout)
        } else {
            self.workers = (0..<connections).map { index in
                RedisWorker(url: url, timeout: timeout, name: "redis-\(index)")
            }
            self.cluster = nil
        }
    }

    /// Whether this client talks to a Redis Cluster.
    public var isCluster: Bool { cluster != nil }

    deinit {
        shutdown()
    }

    /// Runs `body` on one of the pool's threads with that thread's connection and returns its result.
    ///
    /// `body` blocks a pool thread while it runs: keep it to Redis calls and do not keep the connection. The call is
    /// not cancellable once queued.
    ///
    /// On a cluster the connection goes to some master: commands on keys that live elsewhere get `MOVED` replies.
    ///
    /// - Throws: what `body` throws; ``RedisError/Code/connection`` when (re)connecting fails;
    ///   ``RedisError/Code/shutdown`` after ``shutdown()``.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        if let cluster { return try await cluster.run(on: try await cluster.anyMaster(), body) }
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
        if cluster != nil {
            var commands = RESPCommands()
            commands.append(args)
            return try await pipeline(commands)[0]
        }
        return try await withConnection { try $0.command(args) }
    }

    /// Sends one command on a pool connection, for example `command("GET", key)`.
    public func command(_ args: RESPArg...) async throws -> RedisReply {
        try await command(args)
    }

    /// Runs ``RedisConnection/pipeline(_:)`` on a pool connection.
    public func pipeline(_ commands: RESPCommands) async throws -> [RedisReply] {
        if let cluster { return try await clusterPipeline(commands, cluster) }
        return try await withConnection { try $0.pipeline(commands) }
    }

    /// Runs ``RedisConnection/transaction(_:)`` on a pool connection.
    ///
    /// On a cluster: one `MULTI` per slot, run one after the other (see ``transactionPerSlot(_:)``).
    public func transaction(_ commands: RESPCommands) async throws -> [RedisReply] {
        if cluster != nil { return try await transactionPerSlot(commands) }
        return try await withConnection { try $0.transaction(commands) }
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
        cluster?.shutdown()
        for worker in workers {
            worker.stop()
        }
    }
}
