import Foundation
import OpsightTestSupport
import Testing

@testable import Collector

@Suite struct WriteAheadLogTests {
    @Test func recordsSurviveReopenInOrder() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var ends: [UInt64] = []
        do {
            let wal = try WriteAheadLog(configuration: .init(directory: dir))
            defer { wal.close() }  // the lock goes with the scope, not whenever ARC frees it
            ends += try wal.append([[1, 2, 3], [4]])
            ends += try wal.append([[5, 6]])
            try wal.sync()
        }
        let wal = try WriteAheadLog(configuration: .init(directory: dir))
        #expect(wal.endPosition == ends.last)
        var seen: [(UInt64, [UInt8])] = []
        try wal.forEachRecord(after: 0) { end, payload in seen.append((end, Array(payload))) }
        #expect(seen.map(\.0) == ends)
        #expect(seen.map(\.1) == [[1, 2, 3], [4], [5, 6]])
        var after: [[UInt8]] = []
        try wal.forEachRecord(after: ends[0]) { _, payload in after.append(Array(payload)) }
        #expect(after == [[4], [5, 6]])
    }

    @Test func tornTailIsCutAndAppendsContinueAfterTheLastWholeRecord() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let firstEnd: UInt64
        do {
            let wal = try WriteAheadLog(configuration: .init(directory: dir))
            defer { wal.close() }  // the lock goes with the scope, not whenever ARC frees it
            firstEnd = try wal.append([Array(repeating: 7, count: 100)])[0]
            try wal.sync()
        }
        // A crash mid-write: a header promising 50 bytes followed by only 3, then garbage checksums.
        let segment = dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".wal") }!)
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        handle.seekToEndOfFile()
        handle.write(Data([50, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9]))
        try handle.close()

        let next: UInt64
        do {
            let wal = try WriteAheadLog(configuration: .init(directory: dir))
            defer { wal.close() }  // the lock goes with the scope, not whenever ARC frees it
            #expect(wal.endPosition == firstEnd)
            next = try wal.append([[42]])[0]
            try wal.sync()
        }
        var payloads: [[UInt8]] = []
        try WriteAheadLog(configuration: .init(directory: dir)).forEachRecord(after: 0) { _, p in payloads.append(Array(p)) }
        #expect(payloads == [Array(repeating: 7, count: 100), [42]])
        #expect(next == firstEnd + 9)
    }

    @Test func corruptedRecordStopsRecoveryThere() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ends: [UInt64]
        do {
            let wal = try WriteAheadLog(configuration: .init(directory: dir))
            defer { wal.close() }  // the lock goes with the scope, not whenever ARC frees it
            ends = try wal.append([[1, 1, 1], [2, 2, 2]])
            try wal.sync()
        }
        let segment = dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".wal") }!)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment)))
        bytes[bytes.count - 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let wal = try WriteAheadLog(configuration: .init(directory: dir))
        #expect(wal.endPosition == ends[0])
    }

    @Test func segmentsRollAndOnlyCoveredOnesAreRemoved() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wal = try WriteAheadLog(configuration: .init(directory: dir, segmentBytes: 64))
        defer { wal.close() }
        var ends: [UInt64] = []
        for i in 0..<10 { ends += try wal.append([Array(repeating: UInt8(i), count: 40)]) }
        try wal.sync()
        let segments = { try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".wal") }.count }
        // 48-byte records, a new segment once one reaches 64 bytes: two records a segment, plus the empty active one.
        #expect(try segments() == 6)
        wal.removeSegments(coveredBy: ends[4])
        // Records 0–3 lived in the first two segments; record 4 shares the third with record 5.
        #expect(try segments() == 4)
        var payloads: [UInt8] = []
        try wal.forEachRecord(after: ends[4]) { _, p in payloads.append(p[0]) }
        #expect(payloads == [5, 6, 7, 8, 9])
        wal.removeSegments(coveredBy: wal.endPosition)
        #expect(try segments() == 1)
        // Positions keep growing after a reopen even when every full segment is gone.
        wal.close()
        let reopened = try WriteAheadLog(configuration: .init(directory: dir, segmentBytes: 64))
        #expect(reopened.endPosition == ends.last)
    }

    @Test func aZeroFilledTailEndsTheLogLikeATornOne() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ends: [UInt64]
        do {
            let wal = try WriteAheadLog(configuration: .init(directory: dir))
            defer { wal.close() }  // the lock goes with the scope, not whenever ARC frees it
            ends = try wal.append([[1, 2, 3], [4, 5]])
            try wal.sync()
        }
        // Blocks the filesystem allocated but the crash never wrote read back as zeros: zero length, zero crc.
        let segment = dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".wal") }!)
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        handle.seekToEndOfFile()
        handle.write(Data(count: 4096))
        try handle.close()
        let next: UInt64
        do {
            let wal = try WriteAheadLog(configuration: .init(directory: dir))
            defer { wal.close() }  // the lock goes with the scope, not whenever ARC frees it
            #expect(wal.endPosition == ends[1])
            next = try wal.append([[42]])[0]
            try wal.sync()
        }
        #expect(next == ends[1] + 9)
        var payloads: [[UInt8]] = []
        try WriteAheadLog(configuration: .init(directory: dir)).forEachRecord(after: 0) { _, p in payloads.append(Array(p)) }
        #expect(payloads == [[1, 2, 3], [4, 5], [42]])
    }

    @Test func aSecondWriterIsRefusedWithAnErrorNamingTheOwner() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let wal = try WriteAheadLog(configuration: .init(directory: dir))
            defer { wal.close() }  // the lock goes with the scope, not whenever ARC frees it
            _ = try wal.append([[1]])
            do {
                _ = try WriteAheadLog(configuration: .init(directory: dir))
                Issue.record("a second writer opened the log")
            } catch {
                #expect(error.code == .walLocked)
                #expect(error.message.contains("pid \(getpid())"), "\(error.message)")
                #expect(error.message.contains(dir))
            }
            withExtendedLifetime(wal) {}
        }
        // Closing the log releases the lock.
        #expect(try WriteAheadLog(configuration: .init(directory: dir)).endPosition == 9)
    }

    @Test func filesAreOnlyForTheOwner() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let wal = try WriteAheadLog(configuration: .init(directory: dir, segmentBytes: 16))
            defer { wal.close() }  // the lock goes with the scope, not whenever ARC frees it
            for _ in 0..<3 { _ = try wal.append([Array(repeating: 1, count: 20)]) }
        }
        try WriteAheadLog.writeDurably("id\n", to: dir + "/collector-id")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(names.filter { $0.hasSuffix(".wal") }.count == 4)
        #expect(!names.contains("collector-id.tmp"))
        for name in names {
            let mode = try #require(
                try FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.posixPermissions] as? NSNumber)
            #expect(mode.intValue & 0o777 == 0o600, "\(name): \(String(mode.intValue, radix: 8))")
        }
        #expect(try String(contentsOfFile: dir + "/collector-id", encoding: .utf8) == "id\n")
    }

    @Test func aFailedSyncOfTheFullSegmentFailsTheAppend() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configuration = WriteAheadLog.Configuration(directory: dir, segmentBytes: 64)
        configuration.calls.fdatasync = { _ in
            errno = EIO
            return -1
        }
        let wal = try WriteAheadLog(configuration: configuration)
        _ = try wal.append([Array(repeating: 1, count: 40)])
        // This append fills the segment; its records must not be acknowledged when they cannot be synced.
        #expect(throws: CollectorError.self) { try wal.append([Array(repeating: 2, count: 40)]) }
    }

    @Test func aSegmentThatCannotBeCreatedLeavesTheOldOneActive() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configuration = WriteAheadLog.Configuration(directory: dir, segmentBytes: 64)
        configuration.calls.createSegment = { _ in
            errno = EMFILE
            return -1
        }
        var ends: [UInt64] = []
        do {
            let wal = try WriteAheadLog(configuration: configuration)
            defer { wal.close() }  // the lock goes with the scope, not whenever ARC frees it
            for i in 0..<10 { ends += try wal.append([Array(repeating: UInt8(i), count: 40)]) }
            try wal.sync()
        }
        let reopened = try WriteAheadLog(configuration: .init(directory: dir, segmentBytes: 64))
        #expect(reopened.endPosition == ends.last)
        var firsts: [UInt8] = []
        try reopened.forEachRecord(after: 0) { _, p in firsts.append(p[0]) }
        #expect(firsts == Array(0..<10))
    }

    /// A directory that cannot be made is named with the system's reason, not Foundation's error dump.
    @Test func aDirectoryThatCannotBeMadeSaysWhy() {
        do {
            _ = try WriteAheadLog(configuration: .init(directory: "/proc/opsight-nope/wal"))
            Issue.record("a log opened where no directory can be made")
        } catch {
            #expect(error.code == .walIO)
            #expect(error.message.contains("cannot create WAL directory /proc/opsight-nope/wal: No such file or directory"), "\(error)")
            #expect(!error.message.contains("NSCocoaErrorDomain"), "\(error)")
        }
    }
}
