import Foundation

extension WriteAheadLog {
    /// What ``readRecords(after:through:_:)`` found.
    public struct ReadOutcome: Sendable, Equatable {
        /// End of the last record handed over (`after` when none was).
        public var lastEnd: UInt64
        /// Set when the log no longer holds the records right after `after`: the first record it had after that
        /// point started here instead (records in between were trimmed).
        public var missingUpTo: UInt64?
    }

    /// Hands over the records ending in `(after, through]`, in order, while `body` returns true.
    ///
    /// Made for reading back while the log is appended to: segments are mapped rather than read, records up to
    /// `after` are skipped by their lengths (they were checked when written or when the log was opened), and only
    /// records that the commit thread has finished (`through` at most its last applied position) are asked for.
    public func readRecords(
        after: UInt64, through: UInt64, _ body: (UInt64, UnsafeRawBufferPointer) throws -> Bool
    ) throws -> ReadOutcome {
        var outcome = ReadOutcome(lastEnd: after)
        guard through > after else { return outcome }
        let segments = segmentFiles
        var expectedStart: UInt64? = after
        for (i, seg) in segments.enumerated() {
            if i + 1 < segments.count, segments[i + 1].start <= after { continue }
            if seg.start >= through { break }
            let data = try Data(contentsOf: URL(fileURLWithPath: seg.path), options: .alwaysMapped)
            let stop: Bool = try data.withUnsafeBytes { raw in
                var offset = 0
                // Skip whole records before `after` by their lengths.
                if after > seg.start {
                    while offset + 8 <= raw.count {
                        let len = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
                        guard len > 0, offset + 8 + len <= raw.count else { break }
                        if seg.start + UInt64(offset + 8 + len) > after { break }
                        offset += 8 + len
                    }
                }
                while let (len, ok) = Self.recordAt(raw, offset), ok {
                    let start = seg.start + UInt64(offset)
                    let end = start + UInt64(8 + len)
                    if end > through { return true }
                    if let expected = expectedStart {
                        if start != expected { outcome.missingUpTo = start }
                        expectedStart = nil
                    }
                    let keepGoing = try body(end, UnsafeRawBufferPointer(rebasing: raw[(offset + 8)..<(offset + 8 + len)]))
                    outcome.lastEnd = end
                    offset += 8 + len
                    if !keepGoing { return true }
                }
                return false
            }
            if stop { break }
        }
        return outcome
    }
}
