import Foundation
import OpsightTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The harness's view of a child's exit (``ChildExit``) does not depend on Foundation noticing it.
@Suite struct ChildExitTests {
    /// A child that exits while a process it started holds Foundation's exit-notification socket: Foundation may
    /// report it running as long as the grandchild lives (swift-corelibs-foundation#4795), `ChildExit` does not.
    @Test func anExitIsSeenWhileAGrandchildHoldsFoundationsSocket() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "opsight-childexit-\(E2EEnvironment.randomID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pidFile = directory.appendingPathComponent("grandchild.pid")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "sleep 300 & echo $! > '\(pidFile.path)'; exit 3"]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Bounded generously: beside the whole suite the test's wake-ups can wait seconds for a thread of the pool.
        let status = await ChildExit.wait(p, within: .seconds(120))
        let grandchild = (try? String(contentsOf: pidFile, encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        // Seen while the grandchild, which holds the socket, still runs (Foundation alone would wait for it).
        let grandchildRan = grandchild.map { kill($0, 0) == 0 } ?? false
        // The exited shell is gone though not reaped yet (a zombie answers `kill(pid, 0)`); the grandchild is not.
        let shellGone = ChildExit.isGone(p.processIdentifier)
        let grandchildGone = grandchild.map(ChildExit.isGone) ?? true
        if let grandchild { kill(grandchild, SIGKILL) }
        #expect(grandchild != nil, "the shell wrote its background child's pid")
        #expect(status == 3, "the exit status of sh -c '… exit 3'")
        #expect(grandchildRan, "the exit was seen while the grandchild still ran")
        #expect(shellGone, "an exited child counts as gone before it is reaped")
        #expect(!grandchildGone, "a running process is not gone")
        // And a plain exit by a signal reports the signal's number.
        let q = Process()
        q.executableURL = URL(fileURLWithPath: "/bin/sh")
        q.arguments = ["-c", "kill -9 $$"]
        try q.run()
        #expect(await ChildExit.wait(q, within: .seconds(20)) == SIGKILL)
    }
}
