import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process's exit, seen without relying on Foundation alone.
///
/// Foundation's `Process` on Linux learns of an exit when a socket it hands to the child closes. A child that
/// another test spawns at that moment can inherit the socket and hold it open for its whole life
/// (swift-corelibs-foundation#4795), and then `isRunning` stays true long after the exit: in CI, a `promtool check
/// config` of a few milliseconds was reported running for 30 s while an `opsight serve` started beside it lived.
/// `waitid(…, WNOWAIT)` asks the kernel instead and leaves the child for Foundation to reap.
public enum ChildExit {
    /// The exit status of `p` (the signal's number if a signal ended it), nil while it runs.
    public static func status(_ p: Process) -> Int32? {
        if !p.isRunning { return p.terminationStatus }
        #if canImport(Glibc)
            var info = siginfo_t()
            let pid = p.processIdentifier
            guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0,
                info._sifields._sigchld.si_pid == pid
            else { return p.isRunning ? nil : p.terminationStatus }
            return info._sifields._sigchld.si_status
        #else
            return nil
        #endif
    }

    /// Waits up to `limit` for `p` to exit; its status, or nil if it still runs.
    @discardableResult
    public static func wait(_ p: Process, within limit: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let status = status(p) { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return status(p)
    }

    /// Stops `p` from code that cannot wait asynchronously (a `defer`, a `deinit`): sends `signal`, gives it up to
    /// `grace` to exit, then SIGKILL, and returns once the kernel reports the exit. Unlike `Process.waitUntilExit()`
    /// this cannot hang on the notification socket a concurrently started child inherited (see above); it blocks
    /// its thread at most `grace` and the moment a killed process takes to die.
    public static func stop(_ p: Process, signal: Int32 = SIGKILL, grace: Duration = .seconds(5)) {
        let pid = p.processIdentifier
        guard pid > 0, status(p) == nil else { return }
        kill(pid, signal)
        let deadline = ContinuousClock.now + grace
        while status(p) == nil, ContinuousClock.now < deadline { usleep(10_000) }
        guard status(p) == nil else { return }
        kill(pid, SIGKILL)
        #if canImport(Glibc)
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno == EINTR {}
        #endif
    }

    /// Whether `pid` no longer runs: no such process, or a zombie (exited, not yet reaped — `status(_:)` leaves
    /// the child for Foundation to reap, which can wait on an inherited socket, so `kill(pid, 0)` still answers).
    public static func isGone(_ pid: Int32) -> Bool {
        guard let (_, fields) = stat(pid) else { return kill(pid, 0) != 0 }
        return fields.first == "Z"
    }

    /// `/proc/<pid>/stat`'s state and CPU ticks, for a report of a child that did not finish: whether it ran,
    /// slept or waited to be scheduled.
    public static func procState(_ pid: Int32) -> String {
        guard let (text, fields) = stat(pid) else { return "no /proc/\(pid)/stat" }
        guard fields.count > 13 else { return "/proc/\(pid)/stat: \(text)" }
        return "state \(fields[0]), utime \(fields[11]) stime \(fields[12]) ticks"
    }

    /// `/proc/<pid>/stat` and its fields after the command name (the state first); nil when there is none.
    private static func stat(_ pid: Int32) -> (text: String, fields: [Substring])? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        return (text, text[text.index(after: close)...].split(separator: " "))
    }
}
