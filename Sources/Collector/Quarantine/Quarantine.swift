import Foundation
import Logging
import OpsightMetrics
import Synchronization

/// Where data a store refused for what it is goes, so the flush behind it moves on (SPEC §4: no accepted
/// line may ever stop a flush).
///
/// Each refusal is appended as one JSON line to a file on local disk (the write-ahead log's directory), not to
/// the store that refused it, which might refuse the same bytes again. A line holds the time, the store, the
/// error and what was refused: a delta's series with their counts (sketches are left out), or raw events'
/// lines. Every refusal is counted in ``CollectorStatus`` (`/metrics`, status and `/readyz` show it) whether or
/// not the file could be written.
///
/// The file does not grow without bound: past a quarter of `retention.maxBytes` it is renamed to
/// `<path>.<unix ms>` and a new one begins, and the oldest rotated parts are deleted while they hold more than
/// three quarters of it, so the file and its parts stay within `maxBytes`; ``ageOut(nowMs:)`` (the retention sweep)
/// also deletes the parts older than `maxAgeMs`.
public final class Quarantine: Sendable {
    /// How much, and how long, the quarantine keeps.
    public struct Retention: Sendable, Equatable {
        /// Most bytes of the file and its rotated parts together.
        public var maxBytes: UInt64 = 256 << 20
        /// How long a rotated part is kept (nil: until `maxBytes` pushes it out).
        public var maxAgeMs: Int64? = 30 * 86_400_000
        /// Creates the defaults.
        public init() {}
    }

    private let path: String?
    private let status: CollectorStatus
    private let logger: Logger
    private let clock: WallClock
    private let retention: Retention
    /// Serialises appends, so lines from the flush loops and the raw-event writer never interleave.
    private let file = Mutex<Void>(())

    /// Creates the quarantine writing to `path` (nil: counted and logged only).
    public init(
        path: String?, status: CollectorStatus, logger: Logger, clock: WallClock = .system,
        retention: Retention = .init()
    ) {
        self.path = path
        self.status = status
        self.logger = logger
        self.clock = clock
        self.retention = retention
    }

    /// The rotated parts of the file (`<path>.<unix ms>`), oldest first, with their sizes.
    public func rotatedParts() -> [(path: String, atMs: Int64, bytes: UInt64)] {
        guard let path else { return [] }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + "."
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (String, Int64, UInt64)? in
            guard name.hasPrefix(prefix), let at = Int64(name.dropFirst(prefix.count)) else { return nil }
            let full = directory + "/" + name
            var info = stat()
            guard stat(full, &info) == 0 else { return nil }
            return (full, at, UInt64(info.st_size))
        }.sorted { $0.1 < $1.1 }
    }

    /// Deletes the rotated parts older than `maxAgeMs` at `nowMs`, then the oldest while the parts hold more than
    /// three quarters of `maxBytes`; returns how many were deleted.
    @discardableResult
    public func ageOut(nowMs: Int64) -> Int {
        file.withLock { _ in trim(nowMs: nowMs) }
    }

    /// ``ageOut(nowMs:)`` with the file's lock held.
    private func trim(nowMs: Int64) -> Int {
        guard let path else { return 0 }
        // The parts get three quarters of the budget, the current file (rotated at a quarter) the rest.
        let budget = retention.maxBytes - retention.maxBytes / 4
        let parts = rotatedParts()
        var total = parts.reduce(0) { $0 + $1.bytes }
        var deleted = 0
        for part in parts {
            let tooOld = retention.maxAgeMs.map { part.atMs < nowMs - $0 } ?? false
            guard tooOld || total > budget else { continue }
            if unlink(part.path) == 0 {
                total -= part.bytes
                deleted += 1
            } else {
                logger.warning("could not delete an old quarantine file", metadata: ["file": "\(part.path)"])
            }
        }
        return deleted
    }

    /// Records a delta that `store` refused at log position `position`.
    public func deltaRefused(_ delta: Delta, position: UInt64, store: String, error: any Error) {
        status.quarantinedDeltas.add(1, ordering: .relaxed)
        logger.error(
            "store refused a delta for its data; quarantined, the flush moves on",
            metadata: [
                "store": "\(store)", "position": "\(position)", "series": "\(delta.cellCount)",
                "error": "\(error)", "file": "\(path ?? "none")",
            ])
        append([
            "kind": "delta", "at_ms": clock.nowMs(), "store": store, "position": position, "error": "\(error)",
            "delta": Self.describe(delta),
        ])
    }

    /// Records raw events that `store` refused.
    public func rawEventsRefused(_ rows: [RawEvent], store: String, error: any Error) {
        status.quarantinedRawEvents.add(UInt64(rows.count), ordering: .relaxed)
        logger.error(
            "store refused raw events for their data; quarantined",
            metadata: ["store": "\(store)", "rows": "\(rows.count)", "error": "\(error)", "file": "\(path ?? "none")"])
        append([
            "kind": "raw_events", "at_ms": clock.nowMs(), "store": store, "error": "\(error)",
            "lines": rows.map(\.line),
        ])
    }

    private func append(_ record: [String: Any]) {
        guard let path else { return }
        do {
            var data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            data.append(0x0A)
            try file.withLock { _ in
                // Rotate past a quarter of the budget.
                var info = stat()
                if stat(path, &info) == 0, info.st_size > 0,
                    UInt64(info.st_size) + UInt64(data.count) > retention.maxBytes / 4
                {
                    var at = clock.nowMs()
                    while access("\(path).\(at)", F_OK) == 0 { at += 1 }
                    if rename(path, "\(path).\(at)") != 0 {
                        throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                    }
                    // The byte budget holds between sweeps too.
                    _ = trim(nowMs: at)
                }
                let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                defer { close(fd) }
                try data.withUnsafeBytes { raw in
                    var done = 0
                    while done < raw.count {
                        let n = write(fd, raw.baseAddress! + done, raw.count - done)
                        if n < 0 {
                            if errno == EINTR { continue }
                            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                        }
                        done += n
                    }
                }
                _ = fsync(fd)
            }
        } catch {
            logger.error("could not write the quarantine file", metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }

    /// The series of `delta` with their counts, as JSON values.
    static func describe(_ delta: Delta) -> [String: Any] {
        [
            "requests": delta.requests.map { k, v in
                [
                    "service": k.key.service, "route": k.key.route, "method": k.key.method, "bucket": k.bucket,
                    "count": v.count, "errors": v.errors,
                ] as [String: Any]
            },
            "jobs": delta.jobs.map { k, v in
                [
                    "service": k.key.service, "queue": k.key.queue, "job": k.key.job, "bucket": k.bucket,
                    "enqueued": v.enqueued, "started": v.started, "succeeded": v.succeeded, "failed": v.failed,
                    "retried": v.retried,
                ] as [String: Any]
            },
            "logs": delta.logs.map { k, v in
                [
                    "service": k.key, "bucket": k.bucket, "debug": v.debug, "info": v.info, "warn": v.warn,
                    "error": v.error, "fatal": v.fatal,
                ] as [String: Any]
            },
            "funnel_steps": delta.funnelSteps.map { r in
                ["funnel": r.funnel, "step": r.step, "entity": r.entity, "ts_ms": r.timestampMs] as [String: Any]
            },
        ]
    }
}
