import CZlib
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An append-only, checksummed, segmented log on local disk: what makes a 200 on ingest durable.
///
/// Records are `[length u32 LE][crc32 u32 LE][payload]`. A position is a byte offset into the endless
/// concatenation of all segments and names the end of a record. Segments are named after their start
/// position; the active one is never deleted, so positions keep growing across restarts. On open a torn
/// tail (a crash mid-write) is cut at the last whole record: such a record was never acknowledged. A record
/// is never empty, so a zero-filled tail (blocks a filesystem allocated but a crash never wrote, whose zero
/// length and zero checksum would otherwise match) ends the log there too.
///
/// One process owns a log directory: an exclusive `flock` on its `LOCK` file, which names the owner, is held
/// while the log is open. Files are created 0600.
public final class WriteAheadLog: Sendable {
    /// Where and how the log is kept.
    public struct Configuration: Sendable {
        public var directory: String
        /// Size at which a new segment is started.
        public var segmentBytes: Int
        /// fsync after each group of appends; off only for throwaway benchmarks of the non-durable path.
        public var sync: Bool
        /// The system calls a segment roll makes; tests make them fail.
        var calls = SystemCalls()
        /// Creates the configuration.
        public init(directory: String, segmentBytes: Int = 64 << 20, sync: Bool = true) {
            self.directory = directory
            self.segmentBytes = segmentBytes
            self.sync = sync
        }
    }

    /// System calls behind a seam, so tests can fail them where a disk would.
    struct SystemCalls: Sendable {
        var fdatasync: @Sendable (Int32) -> Int32 = { Glibc.fdatasync($0) }
        var createSegment: @Sendable (String) -> Int32 = { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
    }

    private struct Segment {
        var start: UInt64
        var path: String
    }

    private struct FileState {
        var segments: [Segment]
        var fd: Int32
        var activeStart: UInt64
        var activeLength: UInt64
        /// The `LOCK` file, held with an exclusive `flock` until the log is closed; -1 once closed.
        var lockFD: Int32
    }

    private let configuration: Configuration
    private let state: Mutex<FileState>

    /// Opens (creating if needed) the log in `configuration.directory`, cutting a torn tail.
    public init(configuration: Configuration) throws(CollectorError) {
        self.configuration = configuration
        let dir = configuration.directory
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw CollectorError(.walIO, "cannot create WAL directory \(dir): \(fileErrorReason(error)); check wal.dir")
        }
        // Before anything is read or cut: a second writer would truncate the first one's tail.
        let lockFD = try Self.lock(dir)
        do throws(CollectorError) {
            var segments = try Self.listSegments(dir)
            if segments.isEmpty {
                segments = [Segment(start: 0, path: Self.segmentPath(dir, 0))]
                let fd = open(segments[0].path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw Self.ioError("cannot create \(segments[0].path)") }
                Glibc.close(fd)
                if configuration.sync { Self.syncDirectory(dir) }
            }
            let active = segments[segments.count - 1]
            let valid = try Self.validLength(of: active.path)
            let fd = open(active.path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Self.ioError("cannot open \(active.path)") }
            if ftruncate(fd, off_t(valid)) != 0 || lseek(fd, off_t(valid), SEEK_SET) < 0 {
                Glibc.close(fd)
                throw CollectorError(.walIO, "cannot truncate torn tail of \(active.path)")
            }
            if configuration.sync { _ = fsync(fd) }
            state = Mutex(
                FileState(segments: segments, fd: fd, activeStart: active.start, activeLength: valid, lockFD: lockFD))
        } catch {
            Glibc.close(lockFD)
            throw error
        }
    }

    deinit { close() }

    /// Closes the log and releases the directory; appends fail afterwards. Closing twice does nothing.
    public func close() {
        state.withLock { s in
            guard s.lockFD >= 0 else { return }
            _ = Glibc.close(s.fd)
            // Closing the last descriptor of the open file releases the flock.
            _ = Glibc.close(s.lockFD)
            s.fd = -1
            s.lockFD = -1
        }
    }

    /// Takes the exclusive lock on `dir`'s `LOCK` file and records this process in it.
    private static func lock(_ dir: String) throws(CollectorError) -> Int32 {
        let path = dir + "/LOCK"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ioError("cannot open \(path)") }
        // A few tries over half a second: a process of ours that forks (spawning a child) copies the descriptor into
        // the child until its exec closes it, so a log closed and opened again in one process can find the lock
        // held for that moment. Another process holding it is reported after that half second.
        var attempt = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0, errno == EWOULDBLOCK, attempt < 10 {
            attempt += 1
            usleep(50_000)
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            let recorded = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let owner = recorded.flatMap { $0.isEmpty ? nil : $0 } ?? "owner unknown"
            Glibc.close(fd)
            guard busy else { throw CollectorError(.walIO, "cannot lock \(path): \(reason)") }
            throw CollectorError(
                .walLocked,
                "WAL directory \(dir) is in use by another process (\(owner)); "
                    + "stop it, or give each collector its own wal.dir")
        }
        let me = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName)\n"
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, me, me.utf8.count, 0)
        return fd
    }

    private static func ioError(_ what: String) -> CollectorError {
        CollectorError(.walIO, "\(what): \(String(cString: strerror(errno)))")
    }

    /// Position after the last record.
    public var endPosition: UInt64 { state.withLock { $0.activeStart + $0.activeLength } }

    /// Position where the oldest retained segment starts (how far the log has been trimmed).
    public var startPosition: UInt64 { state.withLock { $0.segments.first?.start ?? 0 } }

    /// The retained segments, oldest first: where each starts and its file.
    var segmentFiles: [(start: UInt64, path: String)] { state.withLock { $0.segments.map { ($0.start, $0.path) } } }

    /// Appends records without syncing; returns the end position of each. Call `sync()` before acknowledging.
    public func append(_ payloads: [[UInt8]]) throws(CollectorError) -> [UInt64] {
        try state.withLock { s throws(CollectorError) in
            guard s.fd >= 0 else { throw CollectorError(.walIO, "the write-ahead log is closed") }
            var ends: [UInt64] = []
            ends.reserveCapacity(payloads.count)
            var buffer: [UInt8] = []
            buffer.reserveCapacity(payloads.reduce(0) { $0 + $1.count + 8 })
            for p in payloads {
                guard !p.isEmpty else { throw CollectorError(.walIO, "empty WAL record") }
                let crc = p.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
                Self.appendLE(UInt32(p.count), to: &buffer)
                Self.appendLE(crc, to: &buffer)
                buffer.append(contentsOf: p)
                ends.append(s.activeStart + s.activeLength + UInt64(buffer.count))
            }
            do throws(CollectorError) {
                try Self.writeAll(s.fd, buffer)
            } catch {
                // Cut a partial write so later records do not land behind a torn one (recovery stops there).
                _ = ftruncate(s.fd, off_t(s.activeLength))
                _ = lseek(s.fd, off_t(s.activeLength), SEEK_SET)
                throw error
            }
            s.activeLength += UInt64(buffer.count)
            if s.activeLength >= UInt64(configuration.segmentBytes) {
                try rollSegment(&s)
            }
            return ends
        }
    }

    /// Makes every appended record durable.
    public func sync() throws(CollectorError) {
        guard configuration.sync else { return }
        let fd = state.withLock { $0.fd }
        if fdatasync(fd) != 0 {
            throw CollectorError(.walIO, "fdatasync failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Deletes whole segments that end at or before `position` (never the active one).
    public func removeSegments(coveredBy position: UInt64) {
        let doomed: [String] = state.withLock { s in
            var out: [String] = []
            while s.segments.count > 1, s.segments[1].start <= position {
                out.append(s.segments.removeFirst().path)
            }
            return out
        }
        for path in doomed { unlink(path) }
    }

    /// Calls `body` with the end position and payload of every record ending after `position`, in order.
    public func forEachRecord(
        after position: UInt64,
        _ body: (UInt64, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let segments = state.withLock { $0.segments }
        for (i, seg) in segments.enumerated() {
            if i + 1 < segments.count, segments[i + 1].start <= position { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: seg.path))
            try data.withUnsafeBytes { raw in
                var offset = 0
                while let (len, ok) = Self.recordAt(raw, offset), ok {
                    let end = seg.start + UInt64(offset + 8 + len)
                    if end > position {
                        try body(end, UnsafeRawBufferPointer(rebasing: raw[(offset + 8)..<(offset + 8 + len)]))
                    }
                    offset += 8 + len
                }
            }
        }
    }

    /// Starts a new segment once the active one is full.
    ///
    /// The records just written are in the old segment, and `sync()` only reaches the active one, so the old one
    /// is synced here and a failure is thrown: those records must not be acknowledged. The new segment is opened
    /// before the old descriptor is closed: if the open fails the old segment simply stays active (a write to a
    /// closed descriptor, or to whatever file reused its number, would lose acknowledged records), and the roll
    /// is tried again after the next append.
    private func rollSegment(_ s: inout FileState) throws(CollectorError) {
        if configuration.sync, configuration.calls.fdatasync(s.fd) != 0 {
            throw Self.ioError("fdatasync of the full segment failed")
        }
        let start = s.activeStart + s.activeLength
        let path = Self.segmentPath(configuration.directory, start)
        let fd = configuration.calls.createSegment(path)
        guard fd >= 0 else { return }
        if configuration.sync { Self.syncDirectory(configuration.directory) }
        Glibc.close(s.fd)
        s.segments.append(Segment(start: start, path: path))
        s.fd = fd
        s.activeStart = start
        s.activeLength = 0
    }

    private static func segmentPath(_ dir: String, _ start: UInt64) -> String {
        let digits = String(start)
        return dir + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".wal"
    }

    private static func listSegments(_ dir: String) throws(CollectorError) -> [Segment] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw CollectorError(.walIO, "cannot list WAL directory \(dir): \(fileErrorReason(error))")
        }
        return names.compactMap { name -> Segment? in
            guard name.hasSuffix(".wal"), let start = UInt64(name.dropLast(4)) else { return nil }
            return Segment(start: start, path: dir + "/" + name)
        }.sorted { $0.start < $1.start }
    }

    /// Length of the prefix of whole, checksum-valid records.
    private static func validLength(of path: String) throws(CollectorError) -> UInt64 {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CollectorError(.walIO, "cannot read \(path): \(fileErrorReason(error))")
        }
        return data.withUnsafeBytes { raw in
            var offset = 0
            while let (len, ok) = recordAt(raw, offset), ok { offset += 8 + len }
            return UInt64(offset)
        }
    }

    /// Length of the record at `offset` and whether it is whole with a matching checksum; nil at the end.
    static func recordAt(_ raw: UnsafeRawBufferPointer, _ offset: Int) -> (Int, Bool)? {
        guard offset + 8 <= raw.count else { return nil }
        let len = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
        let crc = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian
        // Appends never write an empty record: a zero length is a zero-filled tail, not a record.
        guard len > 0, offset + 8 + len <= raw.count else { return (len, false) }
        let base = raw.baseAddress!.advanced(by: offset + 8).assumingMemoryBound(to: UInt8.self)
        return (len, UInt32(crc32(0, base, UInt32(len))) == crc)
    }

    private static func appendLE(_ v: UInt32, to buffer: inout [UInt8]) {
        buffer.append(UInt8(truncatingIfNeeded: v))
        buffer.append(UInt8(truncatingIfNeeded: v >> 8))
        buffer.append(UInt8(truncatingIfNeeded: v >> 16))
        buffer.append(UInt8(truncatingIfNeeded: v >> 24))
    }

    private static func writeAll(_ fd: Int32, _ buffer: [UInt8]) throws(CollectorError) {
        let failure: String? = buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress!.advanced(by: done), raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                done += n
            }
            return nil
        }
        if let failure { throw CollectorError(.walIO, "WAL write failed: \(failure)") }
    }

    /// Writes `contents` to `path` so that after a crash the file holds either nothing or all of it: a temporary
    /// file is written and synced, renamed over `path`, and the directory synced (mode 0600).
    static func writeDurably(_ contents: String, to path: String) throws(CollectorError) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ioError("cannot create \(tmp)") }
        do throws(CollectorError) {
            try writeAll(fd, Array(contents.utf8))
            guard fsync(fd) == 0 else { throw ioError("fsync of \(tmp) failed") }
        } catch {
            Glibc.close(fd)
            throw error
        }
        Glibc.close(fd)
        guard rename(tmp, path) == 0 else { throw ioError("cannot rename \(tmp) to \(path)") }
        let dir = (path as NSString).deletingLastPathComponent
        syncDirectory(dir.isEmpty ? "." : dir)
    }

    private static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            Glibc.close(fd)
        }
    }
}
