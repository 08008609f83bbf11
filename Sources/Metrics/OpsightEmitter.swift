import Synchronization

/// Emits schema-v1 events (SPEC §3, §9) without ever blocking the caller.
///
/// Emit calls (``request(route:method:status:duration:requestID:fields:)``, ``job(queue:job:jobID:event:duration:attempt:fields:)``,
/// ``funnel(event:entity:fields:)``, ``log(level:message:fields:)``) stamp the event and put it in a bounded
/// ring behind a `Mutex`; when the ring is full the oldest event is dropped and counted. ``run()``
/// batches the events by count, size and age, encodes them as NDJSON and hands them to a ``Transport``,
/// retrying with exponential backoff and jitter. ``shutdown()`` makes `run()` deliver what is left and return.
///
/// ```swift
/// let emitter = OpsightEmitter(service: "assessments", transport: transport)
/// async let loop: Void = emitter.run()   // or register it with a service group
/// emitter.request(route: "/api/v1/assessments/:id", method: "GET", status: 200, duration: .milliseconds(12))
/// ```
public final class OpsightEmitter: Sendable {
    /// The `service` written into every event.
    public let service: String
    /// The buffering and delivery settings.
    public let configuration: Configuration
    /// Where batches go.
    let transport: any Transport
    /// Drives batch timing and retry waits.
    let clock: any Clock<Duration>
    /// Stamps events.
    let wallClock: WallClock
    /// Jitter source: a value in 0..<1 per retry.
    let random: @Sendable () -> Double
    /// The ring and the run loop's bookkeeping.
    let buffer: Mutex<EmitterBuffer>
    /// Wakes the run loop.
    let wake = WakeSignal()
    /// Monotonic counters.
    let counters = EmitterCounters()
    /// Whether `run()` was started, so a second call fails loudly.
    let started = Atomic<Bool>(false)

    /// Creates an emitter; nothing is sent until ``run()`` runs.
    ///
    /// - Parameters:
    ///   - service: The emitting service's name, 1–128 characters.
    ///   - transport: Where batches are delivered.
    ///   - configuration: Buffering, batching and retry settings.
    ///   - clock: Times batches and retry waits; tests pass a manual clock.
    ///   - wallClock: Stamps events with their `ts`.
    ///   - random: Values in 0..<1 for retry jitter.
    public init(
        service: String,
        transport: any Transport,
        configuration: Configuration = .init(),
        clock: any Clock<Duration> = ContinuousClock(),
        wallClock: WallClock = .system,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        precondition(!service.isEmpty && service.count <= 128, "service must be 1–128 characters")
        self.service = service
        self.configuration = configuration
        self.transport = transport
        self.clock = clock
        self.wallClock = wallClock
        self.random = random
        self.buffer = Mutex(
            EmitterBuffer(
                capacity: configuration.bufferCapacity,
                batchLines: configuration.maxBatchLines,
                batchBytes: configuration.maxBatchBytes
            )
        )
    }

    /// Buffers an event; never waits for I/O or for the run loop.
    @inline(__always)
    func enqueue(_ payload: PendingEvent.Payload, fields: [String: FieldValue]) {
        let event = PendingEvent(timestampMs: wallClock.nowMs(), payload: payload, fields: fields)
        let action = buffer.withLock { $0.append(event) }
        switch action {
        case .none: break
        case .wake: wake.signal()
        case .droppedOldest, .droppedClosed: EmitterCounters.add(counters.dropped, 1)
        }
    }

    /// The counters and buffer levels now.
    public var statistics: EmitterStatistics {
        let (emitted, buffered, inFlight) = buffer.withLock { ($0.enqueued, $0.count, $0.inFlight) }
        return EmitterStatistics(
            emitted: emitted,
            dropped: counters.dropped.load(ordering: .relaxed),
            accepted: counters.accepted.load(ordering: .relaxed),
            rejected: counters.rejected.load(ordering: .relaxed),
            failed: counters.failed.load(ordering: .relaxed),
            truncated: counters.truncated.load(ordering: .relaxed),
            retries: counters.retries.load(ordering: .relaxed),
            buffered: buffered,
            inFlight: inFlight,
            lastError: counters.lastError.withLock { $0 }
        )
    }
}
