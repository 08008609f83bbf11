import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A dedicated thread that owns one ``RedisConnection`` and runs queued jobs on it, one at a time.
///
/// The connection is opened lazily by the first job and dropped when it breaks, so the job after an I/O error
/// reconnects. State is guarded by an `NSCondition` because the thread must sleep until work arrives.
final class RedisWorker: @unchecked Sendable {
    /// Work for the thread: `run` gets the connection, `fail` is called instead when connecting fails.
    struct Job: Sendable {
        let run: @Sendable (RedisConnection) -> Void
        let fail: @Sendable (RedisError) -> Void
    }

    private enum State {
        case running
        case stopping
        case stopped
    }

    private let url: RedisURL
    private let timeout: Duration
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [Job] = []
    private var state = State.running
    private var runningJob = false
    private var thread: pthread_t?
    private var started = false
    private let name: String

    /// Creates the worker; its thread starts with the first job, not here.
    init(url: RedisURL, timeout: Duration, name: String) {
        self.url = url
        self.timeout = timeout
        self.name = name
    }

    /// Jobs queued or running; used to pick the least busy worker.
    var load: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count + (runningJob ? 1 : 0)
    }

    /// Queues a job; returns `false` when the worker is stopping.
    func submit(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard case .running = state else { return false }
        jobs.append(job)
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.name = name
            thread.start()
        }
        condition.signal()
        return true
    }

    /// Lets queued jobs finish, then closes the connection and ends the thread; waits for that unless called from
    /// the worker's own thread.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        if case .running = state {
            // A worker that never ran a job has no thread to wait for.
            state = started ? .stopping : .stopped
            condition.broadcast()
        }
        if let thread, pthread_equal(thread, pthread_self()) != 0 { return }
        while true {
            if case .stopped = state { break }
            condition.wait()
        }
    }

    private func run() {
        Self.blockSIGPIPE()
        condition.lock()
        thread = pthread_self()
        condition.unlock()

        var connection: RedisConnection?
        while let batch = nextBatch() {
            // One failed connect fails the rest of the batch too, instead of making every queued job wait for its
            // own connect timeout against a server that is down.
            var connectError: RedisError?
            for job in batch {
                if connection == nil {
                    if let connectError {
                        job.fail(connectError)
                        continue
                    }
                    do {
                        connection = try RedisConnection(url: url, timeout: timeout)
                    } catch {
                        connectError = error
                        job.fail(error)
                        continue
                    }
                }
                job.run(connection!)
                if connection!.isBroken {
                    connection = nil
                }
            }
            condition.lock()
            runningJob = false
            condition.unlock()
        }
        connection = nil

        condition.lock()
        state = .stopped
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for jobs and takes all of them; `nil` once stopping with nothing left to do.
    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty {
            if case .stopping = state { return nil }
            condition.wait()
        }
        let batch = jobs
        jobs.removeAll()
        runningJob = true
        return batch
    }

    /// hiredis writes with plain `write`, so a write to a socket the server closed raises `SIGPIPE`, which would kill
    /// the process; blocked on this thread, the write fails with `EPIPE` instead and the connection is reconnected.
    private static func blockSIGPIPE() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }
}
