import Foundation
import OpsightTestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a command to completion (bounded), capturing its output through files.
enum CommandRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `opsight <arguments>` with `environment` added to the current one, stdin from `stdinPath` (or
    /// /dev/null); kills it after `timeout`.
    static func opsight(
        _ arguments: [String], environment: [String: String] = [:], stdinPath: String? = nil, in directory: URL,
        timeout: Duration = .seconds(90)
    ) async throws -> Result {
        var env = ProcessInfo.processInfo.environment
        for name in ["OPSIGHT_URL", "OPSIGHT_TOKEN"] { env[name] = nil }
        env.merge(environment) { _, new in new }
        return try await run(
            E2EEnvironment.binaryPath, arguments, environment: env, stdinPath: stdinPath, in: directory,
            timeout: timeout)
    }

    /// Runs `executable arguments` (with `environment`, default the current one; in `workingDirectory`, default
    /// this process's); kills it (SIGKILL) and throws after `timeout`. Its output goes through files in `directory`
    /// and its exit is polled asynchronously: reading a pipe to its end, or `waitUntilExit()`, would hold one of the
    /// cooperative pool's two threads for as long as the child runs.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdinPath: String? = nil,
        in directory: URL, workingDirectory: URL? = nil, timeout: Duration
    ) async throws -> Result {
        let id = E2EEnvironment.randomID(6)
        let outPath = directory.appendingPathComponent("cmd-\(id).out").path
        let errPath = directory.appendingPathComponent("cmd-\(id).err").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment { p.environment = environment }
        if let workingDirectory { p.currentDirectoryURL = workingDirectory }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        p.standardOutput = out
        p.standardError = err
        if let stdinPath {
            p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdinPath))
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        try p.run()
        try? out.close()
        try? err.close()
        guard let status = await ChildExit.wait(p, within: timeout) else {
            let state = ChildExit.procState(p.processIdentifier)
            kill(p.processIdentifier, SIGKILL)
            _ = await OpsightServer.waitForExit(p, within: .seconds(5))
            throw E2EError(
                "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout) (\(state))")
        }
        return Result(
            status: status,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// Pids of the processes whose command line contains `marker` (`pgrep -f`), for leak checks.
    static func pids(matching marker: String, in directory: URL) async throws -> [Int32] {
        let r = try await run("/usr/bin/pgrep", ["-f", marker], in: directory, timeout: .seconds(10))
        return r.stdout.split(separator: "\n").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }
}
