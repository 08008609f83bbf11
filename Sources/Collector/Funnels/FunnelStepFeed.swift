/// A hot store's log of the funnel step records each commit brought, read by readers that keep funnel records
/// in memory (`FunnelCache`) instead of reading a day of them per query.
///
/// Every commit appends its records — all of them, also those older than the store keeps — in the same
/// transaction as the records themselves, so a reader that applies the entries after its cursor holds every
/// record committed up to the new cursor, whatever time the records have (late ones included) and whichever
/// collector wrote them.
public protocol FunnelStepFeed: Sendable {
    /// The records committed after `cursor` (nil: every record the log still holds), in one atomic read; `gap`
    /// when some are missing (the log was trimmed past the cursor, the store was reset or rebuilt).
    ///
    /// A reader that (re)loads from the stores takes the whole log too: a record the hot store took before the
    /// cursor may not be in the durable store yet (it is written every few seconds), which holds the late ones.
    func pollFunnelSteps(after cursor: FeedCursor?) async throws -> FunnelStepPoll
}

/// What one ``FunnelStepFeed/pollFunnelSteps(after:)`` returns.
public struct FunnelStepPoll: Sendable {
    /// Where the log is now.
    public var cursor: FeedCursor
    /// The records of the entries after the cursor asked for (all entries held, without one), in no particular
    /// order, perhaps with repeats.
    public var records: [FunnelStepRecord]
    /// True when entries after the cursor asked for are lost: the reader must start over from the stores.
    public var gap: Bool
    /// Creates the poll result.
    public init(cursor: FeedCursor, records: [FunnelStepRecord], gap: Bool) {
        self.cursor = cursor
        self.records = records
        self.gap = gap
    }
}
