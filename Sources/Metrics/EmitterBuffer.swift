/// The bounded ring of events waiting to be sent, with the bookkeeping the run loop needs.
///
/// A plain struct kept behind the emitter's `Mutex`: every transition is a `mutating` function that
/// returns what to do once the lock is released, so no wake-up or continuation runs under the lock.
struct EmitterBuffer {
    /// Ring storage; `nil` marks free slots.
    private var slots: [PendingEvent?]
    /// Index of the oldest event.
    private var head = 0
    /// Number of buffered events.
    private(set) var count = 0
    /// Sum of ``PendingEvent/estimatedBytes`` of the buffered events.
    private(set) var estimatedBytes = 0
    /// Events ever accepted.
    private(set) var enqueued = 0
    /// Events taken by the run loop whose delivery has not finished.
    var inFlight = 0
    /// Lines per batch: reaching it wakes the run loop early.
    let batchLines: Int
    /// Estimated bytes per batch: reaching it wakes the run loop early.
    let batchBytes: Int
    /// Set by `shutdown()`: the run loop drains everything and stops.
    var isShuttingDown = false
    /// Set when the run loop has stopped: later events are dropped at once.
    var isClosed = false
    /// Callers of `flush()`, each with the number of events that must have left the emitter first.
    var flushWaiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []

    /// What a producer must do after appending, outside the lock.
    enum AppendAction {
        /// Nothing: the run loop is already due to look.
        case none
        /// Wake the run loop (the buffer turned non-empty or reached a batch).
        case wake
        /// The buffer was full: the oldest event was dropped (no wake needed beyond that).
        case droppedOldest
        /// The emitter has stopped: the event itself was dropped.
        case droppedClosed
    }

    /// Creates an empty ring of `capacity` events.
    init(capacity: Int, batchLines: Int, batchBytes: Int) {
        slots = Array(repeating: nil, count: max(capacity, 1))
        self.batchLines = max(batchLines, 1)
        self.batchBytes = max(batchBytes, 1)
    }

    /// Events that have left the emitter: delivered, failed or dropped.
    var settled: Int { enqueued - count - inFlight }

    /// Whether the run loop should send now rather than wait for the batch timer.
    var hasFullBatch: Bool {
        count >= batchLines || estimatedBytes >= batchBytes || isShuttingDown || !flushWaiters.isEmpty
    }

    /// Appends an event, dropping the oldest one when the ring is full.
    mutating func append(_ event: PendingEvent) -> AppendAction {
        if isClosed { return .droppedClosed }
        enqueued += 1
        let size = event.estimatedBytes
        if count == slots.count {
            estimatedBytes -= slots[head]?.estimatedBytes ?? 0
            slots[head] = event
            head = head + 1 == slots.count ? 0 : head + 1
            estimatedBytes += size
            return .droppedOldest
        }
        var tail = head + count
        if tail >= slots.count { tail -= slots.count }
        slots[tail] = event
        count += 1
        let before = estimatedBytes
        estimatedBytes += size
        if count == 1 || count == batchLines || (before < batchBytes && estimatedBytes >= batchBytes) {
            return .wake
        }
        return .none
    }

    /// Moves up to `limit` of the oldest events into `batch` and marks them in flight.
    mutating func take(upTo limit: Int, into batch: inout [PendingEvent]) {
        let n = min(limit, count)
        for _ in 0..<n {
            let event = slots[head].take()!
            estimatedBytes -= event.estimatedBytes
            batch.append(event)
            head = head + 1 == slots.count ? 0 : head + 1
        }
        count -= n
        inFlight += n
    }

    /// Marks `n` in-flight events finished and returns the flush waiters now satisfied.
    mutating func finish(_ n: Int) -> [CheckedContinuation<Void, Never>] {
        inFlight -= n
        return releaseFlushWaiters()
    }

    /// Removes and returns the flush waiters whose events have all left the emitter.
    mutating func releaseFlushWaiters() -> [CheckedContinuation<Void, Never>] {
        guard !flushWaiters.isEmpty else { return [] }
        let done = settled
        var ready: [CheckedContinuation<Void, Never>] = []
        flushWaiters.removeAll { waiter in
            guard waiter.target <= done || isClosed else { return false }
            ready.append(waiter.continuation)
            return true
        }
        return ready
    }
}
