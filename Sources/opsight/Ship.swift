import ArgumentParser
import Alerting
import AsyncHTTPClient
import CompressNIO
import Foundation
import NIOCore
import NIOHTTP1
import OpsightMetrics
import Synchronization

/// `opsight ship FILE|-`: sends NDJSON to `/v1/ingest` and exits 0 once every line is acknowledged.
struct Ship: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ship NDJSON lines from a file or stdin to an Opsight collector.",
        discussion: """
            Lines are batched, gzip'd and retried with backoff until the collector acknowledges them. Lines the \
            collector rejects are reported on stderr as FILE:LINE: reason and count as delivered. With --state the \
            acknowledged offset is kept so a restart resumes where it stopped; --follow tails a growing file and \
            survives rotation.
            """)

    @Argument(help: "NDJSON file, or - for standard input.")
    var file: String

    @Option(help: "Collector base URL (or OPSIGHT_URL).")
    var url: String?

    @Option(help: "Bearer token with the ingest scope (or OPSIGHT_TOKEN).")
    var token: String?

    @Flag(help: "Keep tailing the file (surviving rotation) instead of exiting at its end.")
    var follow = false

    @Option(help: "File recording the acknowledged offset, to resume after a restart.")
    var state: String?

    @Option(help: "Largest batch in bytes before compression.")
    var batchBytes = 1 << 20

    @Option(
        help: """
            gzip level for batches, 1 (fastest) to 9; 0 sends them uncompressed. Default: 1, or 0 when the URL is \
            loopback (compressing costs both ends CPU and saves nothing there).
            """)
    var gzipLevel: Int32?

    @Option(help: "Batches in flight at once.")
    var concurrency = 4

    @Option(help: "Give up when one batch cannot be delivered for this many seconds (0: never).")
    var maxRetrySeconds = 300

    /// Whether `url` names this machine (localhost, 127.0.0.0/8, ::1).
    static func isLoopback(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let base = try CLIHTTP.baseURL(url, environment: env)
        let token = self.token ?? env["OPSIGHT_TOKEN"] ?? ""
        let gzipLevel = self.gzipLevel ?? (Self.isLoopback(base) ? 0 : 1)
        guard batchBytes >= 1024, concurrency >= 1, (0...9).contains(gzipLevel) else {
            throw ValidationError("--batch-bytes must be at least 1024, --concurrency at least 1, --gzip-level 0–9")
        }
        if follow && file == "-" { throw ValidationError("--follow needs a file, not standard input") }
        // A directory or a file that cannot be read is refused here; a missing one when it is opened (--follow waits).
        if file != "-", let why = TextFile.whyUnreadable(file), !why.isMissing {
            throw ValidationError("\(file) \(why): give an NDJSON file, or - for standard input")
        }
        let shipper = Shipper(
            endpoint: base + "/v1/ingest", token: token,
            batchBytes: batchBytes, concurrency: concurrency, gzipLevel: gzipLevel, maxRetrySeconds: maxRetrySeconds,
            label: file == "-" ? "stdin" : file)
        let summary: Shipper.Summary
        do {
            summary = try await shipper.ship(path: file, follow: follow, statePath: state)
        } catch {
            try? await shipper.client.shutdown()
            throw error
        }
        try? await shipper.client.shutdown()
        FileHandle.standardError.write(
            Data("shipped \(summary.accepted) events, \(summary.rejected) lines rejected\n".utf8))
    }
}

/// The shipping loop: read, batch, send with retries, advance the acknowledged offset in order.
final class Shipper: @unchecked Sendable {
    struct Summary {
        var accepted = 0
        var rejected = 0
    }

    /// A batch of whole lines from the input.
    struct Batch {
        var body: [UInt8]
        var endOffset: UInt64
        var firstLine: Int
        var lineCount: Int
    }

    struct State: Codable {
        var inode: UInt64
        var offset: UInt64
        var line: Int
    }

    let client = CLIHTTP.client()
    let endpoint: String
    /// When a failed delivery was last reported on stderr (batches in flight share it: one line per few seconds).
    private let lastWarned = Mutex<ContinuousClock.Instant?>(nil)
    let token: String
    let batchBytes: Int
    let concurrency: Int
    let gzipLevel: Int32
    let maxRetrySeconds: Int
    let label: String

    init(
        endpoint: String, token: String, batchBytes: Int, concurrency: Int, gzipLevel: Int32, maxRetrySeconds: Int,
        label: String
    ) {
        self.gzipLevel = gzipLevel
        self.endpoint = endpoint
        self.token = token
        self.batchBytes = batchBytes
        self.concurrency = concurrency
        self.maxRetrySeconds = maxRetrySeconds
        self.label = label
    }

    func ship(path: String, follow: Bool, statePath: String?) async throws -> Summary {
        var summary = Summary()
        var saved = try statePath.flatMap(Self.loadState)
        while true {
            let handle: FileHandle
            if path == "-" {
                handle = .standardInput
            } else {
                guard let h = FileHandle(forReadingAtPath: path) else {
                    if follow {
                        try await Task.sleep(for: .milliseconds(200))
                        continue
                    }
                    throw CommandFailure("cannot open \(path): it \(TextFile.whyUnreadable(path)?.description ?? "cannot be read")")
                }
                handle = h
            }
            let inode = path == "-" ? 0 : Self.inode(of: handle)
            var offset: UInt64 = 0
            var line = 1
            if let s = saved, s.inode == inode, path != "-" {
                offset = s.offset
                line = s.line
                try handle.seek(toOffset: offset)
            }
            saved = nil
            let rotated = try await shipFile(
                handle, path: path, inode: inode, offset: offset, line: line, follow: follow, statePath: statePath,
                summary: &summary)
            if path != "-" { try? handle.close() }
            if !rotated { return summary }
        }
    }

    /// Ships one opened file; returns true when the file was rotated (follow mode) and a new one should be opened.
    private func shipFile(
        _ handle: FileHandle, path: String, inode: UInt64, offset start: UInt64, line startLine: Int, follow: Bool,
        statePath: String?, summary: inout Summary
    ) async throws -> Bool {
        var offset = start
        var line = startLine
        var carry: [UInt8] = []
        var inFlight: [Task<IngestAnswer, any Error>] = []
        var batches: [Batch] = []
        var pending: [UInt8] = []
        var pendingLines = 0
        var pendingFirstLine = line

        func settleOldest() async throws {
            let answer = try await inFlight.removeFirst().value
            let batch = batches.removeFirst()
            summary.accepted += answer.accepted
            summary.rejected += answer.rejected
            for e in answer.errors {
                FileHandle.standardError.write(Data("\(label):\(batch.firstLine + e.line - 1): \(e.error)\n".utf8))
            }
            if let statePath {
                let state = State(inode: inode, offset: batch.endOffset, line: batch.firstLine + batch.lineCount)
                let data = try JSONEncoder().encode(state)
                try data.write(to: URL(fileURLWithPath: statePath), options: .atomic)
            }
        }
        func send() async throws {
            guard !pending.isEmpty else { return }
            let batch = Batch(body: pending, endOffset: offset, firstLine: pendingFirstLine, lineCount: pendingLines)
            pending = []
            pendingLines = 0
            pendingFirstLine = line
            if inFlight.count >= concurrency { try await settleOldest() }
            batches.append(batch)
            inFlight.append(Task { try await self.deliver(batch.body) })
        }

        while true {
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty {
                if !carry.isEmpty && !follow {
                    // A last line without a newline still counts.
                    pending.append(contentsOf: carry)
                    pending.append(0x0A)
                    offset += UInt64(carry.count)
                    pendingLines += 1
                    line += 1
                    carry = []
                }
                try await send()
                while !inFlight.isEmpty { try await settleOldest() }
                if !follow { return false }
                if path != "-", Self.wasRotated(path: path, inode: inode, offset: offset + UInt64(carry.count)) {
                    return true
                }
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            var bytes = carry
            bytes.append(contentsOf: chunk)
            carry = []
            // Whole runs of lines are copied at once; a line is only looked at to count it and to cut batches.
            var lineStart = 0
            var runStart = 0
            var runLines = 0
            func flushRun(upTo end: Int) {
                pending.append(contentsOf: bytes[runStart..<end])
                pendingLines += runLines
                line += runLines
                offset += UInt64(end - runStart)
                runStart = end
                runLines = 0
            }
            let ends: [Int] = bytes.withUnsafeBufferPointer { buf in
                var out: [Int] = []
                var i = 0
                while i < buf.count, let nl = memchr(buf.baseAddress! + i, 0x0A, buf.count - i) {
                    i = buf.baseAddress!.distance(to: nl.assumingMemoryBound(to: UInt8.self)) + 1
                    out.append(i)
                }
                return out
            }
            for end in ends {
                if pending.count + (end - runStart) > batchBytes && (!pending.isEmpty || lineStart > runStart) {
                    flushRun(upTo: lineStart)
                    try await send()
                }
                runLines += 1
                lineStart = end
            }
            flushRun(upTo: lineStart)
            carry = Array(bytes[lineStart...])
        }
    }

    struct IngestAnswer: Decodable {
        var accepted: Int
        var rejected: Int
        var errors: [LineErrorDTO]
    }

    struct LineErrorDTO: Decodable {
        var line: Int
        var error: String
    }

    /// Sends one body until the collector acknowledges it, backing off on 429, 5xx and network errors.
    private func deliver(_ body: [UInt8]) async throws -> IngestAnswer {
        var buffer = ByteBuffer(bytes: body)
        // Level 1: on loopback the collector and the shipper share the cores, and deflate at the default
        // level was three quarters of the shipper's CPU for ~10 % smaller batches.
        let payload = gzipLevel == 0 ? buffer : try buffer.compress(with: .gzip(configuration: .init(compressionLevel: gzipLevel)))
        let clock = ContinuousClock()
        let started = clock.now
        let retry = RetryPolicy(maxAttempts: .max, initialBackoff: .milliseconds(100), maxBackoff: .seconds(10))
        var attempt = 0
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: endpoint)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-ndjson")
            if gzipLevel > 0 { request.headers.add(name: "Content-Encoding", value: "gzip") }
            if !token.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            request.body = .bytes(payload)
            var retryAfter: Duration?
            var failure = ""
            do {
                let response = try await client.execute(request, timeout: .seconds(60))
                let data = try await response.body.collect(upTo: 16 << 20)
                switch response.status.code {
                case 200:
                    return try JSONDecoder().decode(IngestAnswer.self, from: Data(buffer: data))
                case 429, 500...599:
                    failure = "HTTP \(response.status.code)"
                    if let s = response.headers.first(name: "Retry-After"), let n = Int(s) { retryAfter = .seconds(n) }
                default:
                    throw CommandFailure(
                        "the collector refused a batch with HTTP \(response.status.code): \(String(buffer: data))")
                }
            } catch let error as CommandFailure {
                throw error
            } catch {
                failure = "\(error)"
            }
            if maxRetrySeconds > 0, clock.now - started > .seconds(maxRetrySeconds) {
                throw CommandFailure("giving up after \(maxRetrySeconds)s: \(failure)")
            }
            warn(failure, at: clock.now)
            try await Task.sleep(
                for: retry.delay(afterAttempt: attempt, retryAfter: retryAfter, random: Double.random(in: 0..<1)))
        }
    }

    /// The offset a state file holds; nil when there is no file yet. A file that is there but unreadable is an error,
    /// not a fresh start: shipping the file again from its beginning would count every line twice.
    static func loadState(_ path: String) throws -> State? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path),
            let state = try? JSONDecoder().decode(State.self, from: data)
        else {
            throw CommandFailure(
                "--state \(path) is not a state file opsight ship wrote (unreadable or damaged); starting over would "
                    + "ship every line again: check it, or delete it to ship the file from its start")
        }
        return state
    }

    /// Reports a failed delivery on stderr, at most once every 5 s, so a wrong URL or a collector that is down shows at
    /// once rather than after `--max-retry-seconds` of silence.
    private func warn(_ failure: String, at now: ContinuousClock.Instant) {
        let due = lastWarned.withLock { last in
            if let last, now - last < .seconds(5) { return false }
            last = now
            return true
        }
        guard due else { return }
        let limit = maxRetrySeconds > 0 ? "for up to \(maxRetrySeconds)s (--max-retry-seconds)" : "until it answers"
        FileHandle.standardError.write(Data("cannot deliver to \(endpoint): \(failure); retrying \(limit)\n".utf8))
    }

    static func inode(of handle: FileHandle) -> UInt64 {
        var st = stat()
        return fstat(handle.fileDescriptor, &st) == 0 ? UInt64(st.st_ino) : 0
    }

    /// True when `path` now names another file, or the file shrank below what was read (truncated).
    static func wasRotated(path: String, inode: UInt64, offset: UInt64) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        return UInt64(st.st_ino) != inode || UInt64(st.st_size) < offset
    }
}
