import Foundation
import Testing

@testable import Storage

/// What a collector committed per slot outlives it (issue 16): a collector restarted in the same epoch checks every
/// marker it had committed and guards its commits with the same minimums; one restarted after a rebuild does not.
@Suite struct HotSlotTrackerTests {
    static func file() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hot-slots-\(UUID().uuidString)").path
    }

    static let now: Int64 = 1_795_000_000_000

    /// `body` with a tracker in epoch `e1` that saves to a fresh file, and the file's path (removed afterwards).
    static func withSavedTracker(_ body: (HotSlotTracker, String) throws -> Void) rethrows {
        let path = file()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tracker = HotSlotTracker(path: path)
        tracker.begin(epoch: "e1")
        try body(tracker, path)
    }

    @Test func aRestartInTheSameEpochChecksEverySlotItHadCommitted() throws {
        try Self.withSavedTracker { first, path in
            let now = Self.now
            first.committed([3, 700], position: 10, epoch: "e1", atMs: now)
            first.committed([700, 16_383], position: 25, epoch: "e1", atMs: now + 1_000)
            #expect(first.pending(epoch: "e1", nowMs: now + 2_000)?.change == nil, "nothing to check while the map stood still")

            // The process dies and starts again: the recovery's first look (before any commit) checks every marker.
            let again = HotSlotTracker(path: path)
            let pending = try #require(again.pending(epoch: "e1", nowMs: now + 5_000))
            #expect(pending.lost == nil)
            #expect(
                Dictionary(uniqueKeysWithValues: pending.slots.map { ($0.slot, $0.position) })
                    == [3: 10, 700: 25, 16_383: 25])
            #expect(again.minimums(nowMs: now + 5_000) == [3: 10, 700: 25, 16_383: 25], "commits are guarded by them")
            again.verified(epoch: "e1", change: pending.change, lost: nil)
            #expect(again.pending(epoch: "e1", nowMs: now + 6_000)?.change == nil, "checked once")
        }
    }

    @Test func aRestartAfterARebuildForgetsTheOldEpoch() {
        Self.withSavedTracker { first, path in
            first.committed([3], position: 10, epoch: "e1", atMs: Self.now)
            let again = HotSlotTracker(path: path)
            again.begin(epoch: "e2")
            #expect(again.minimums(nowMs: Self.now) == [:])
            #expect(again.pending(epoch: "e2", nowMs: Self.now)?.change == nil)
        }
    }

    @Test func aDamagedFileIsIgnored() throws {
        let path = Self.file()
        defer { try? FileManager.default.removeItem(atPath: path) }
        for text in ["", "opsight hot slots v1\n", "opsight hot slots v1\nepoch e1\n3 x 1\n", "other\nepoch e1\n3 1 1\n",
            "opsight hot slots v1\nepoch e1\n99999 1 1\n"]
        {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let tracker = HotSlotTracker(path: path)
            tracker.begin(epoch: "e1")
            #expect(tracker.minimums(nowMs: 0) == [:], "\(text.debugDescription)")
        }
    }

    @Test func entriesPastTheMarkersLifetimeAreNotKept() throws {
        try Self.withSavedTracker { first, path in
            first.committed([1], position: 5, epoch: "e1", atMs: Self.now)
            first.committed([2], position: 9, epoch: "e1", atMs: Self.now + HotSlotTracker.horizonMs + 1)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(!text.contains("\n1 5 "), Comment(rawValue: text))
            #expect(text.contains("\n2 9 "), Comment(rawValue: text))
        }
    }
}
