import OpsightMetrics
import Synchronization

/// What ingest answered for one body: SPEC §4's 200 response.
public struct IngestResult: Sendable, Codable, Equatable {
    public var accepted: Int
    public var rejected: Int
    public var errors: [LineError]
}

/// Ingest from body bytes to a durable acknowledgement: decode, guard, log, aggregate.
public final class IngestPipeline: Sendable {
    /// Limits and rules of ingest.
    public struct Configuration: Sendable {
        /// Largest body accepted, also after decompression.
        public var maxBodyBytes: Int
        /// Largest amount of log the stores may lag behind before ingest answers 503.
        public var walMaxBytes: UInt64
        public var decoder: EventDecoder.Configuration
        public var rules: AggregationRules
        /// Cardinality guard: routes per service.
        public var routesPerService: Int
        /// Cardinality guards: services, queues per service, job types per queue.
        public var identityLimits: IdentityGuard.Limits
        /// Creates the configuration.
        public init(
            maxBodyBytes: Int = 16 << 20,
            walMaxBytes: UInt64 = 1 << 30,
            decoder: EventDecoder.Configuration = .init(),
            rules: AggregationRules = .init(),
            routesPerService: Int = 500,
            identityLimits: IdentityGuard.Limits = .init()
        ) {
            self.maxBodyBytes = maxBodyBytes
            self.walMaxBytes = walMaxBytes
            self.decoder = decoder
            self.rules = rules
            self.routesPerService = routesPerService
            self.identityLimits = identityLimits
        }
    }

    public let configuration: Configuration
    private let decoder: EventDecoder
    /// The identity strings the decoder shares between events: the flush's reads of the log take theirs from here too
    /// (``EventCodec/decode(_:strings:)``).
    public var identities: IdentityStrings { decoder.identities }
    private let commitLog: CommitLog
    /// The live counters ingest updates and reads for backpressure.
    public let status: CollectorStatus
    /// The cardinality guard, seeded at start.
    public let routeGuard: RouteGuard
    /// The cardinality guards of services, queues and jobs.
    public let identityGuard: IdentityGuard
    /// Request series both guards let through, a bit per series number (``applyGuards(to:)``).
    private let admittedRequests = Mutex<[UInt64]>([])
    /// Where acknowledged events go for the drill-down (nil: not kept).
    public let rawEvents: RawEventBuffer?

    /// Creates the pipeline over a started commit log.
    public init(
        configuration: Configuration, commitLog: CommitLog, status: CollectorStatus, rawEvents: RawEventBuffer? = nil
    ) {
        self.rawEvents = rawEvents
        self.configuration = configuration
        self.decoder = EventDecoder(configuration: configuration.decoder)
        self.commitLog = commitLog
        self.status = status
        self.routeGuard = RouteGuard(limit: configuration.routesPerService)
        self.identityGuard = IdentityGuard(limits: configuration.identityLimits)
    }

    /// Bytes of log the stores have not taken yet.
    public var walBacklogBytes: UInt64 {
        let end = commitLog.wal.endPosition
        let needed = status.neededPosition
        return end > needed ? end - needed : 0
    }

    /// Bytes of log the hot store has not taken yet: how far what queries at the current time see trails what was
    /// acknowledged.
    public var hotBacklogBytes: UInt64 {
        let end = commitLog.wal.endPosition
        let hot = status.hotPosition.load(ordering: .relaxed)
        return end > hot ? end - hot : 0
    }

    /// A decoded body ready to be logged.
    public struct Prepared: Sendable {
        /// Events accepted. Their decoded form is not kept: a body waiting for the log's group commit holds only
        /// what the commit needs (the log record and the aggregate), not ~400 bytes an event besides.
        var eventCount: Int
        var result: IngestResult
        var payload: [UInt8]
        /// Nil when neither store's lane keeps new batches (``Aggregator/keepsNothing``): the stores read the record
        /// back from the log.
        var aggregate: BatchAggregate?
        /// Raw events the drill-down buffer wanted, and how many it passed over.
        var raw: [RawEvent] = []
        var sampledOut = 0
    }

    /// Decodes, guards and pre-aggregates one decompressed body; throws `walFull` having accepted nothing.
    public func prepare(_ body: UnsafeRawBufferPointer, nowMs: Int64) throws(CollectorError) -> Prepared {
        if walBacklogBytes > configuration.walMaxBytes {
            status.refusedBatches.add(1, ordering: .relaxed)
            throw CollectorError(.walFull, "the stores are behind and the write-ahead log is full; retry later")
        }
        status.ingestBytes.add(UInt64(body.count), ordering: .relaxed)
        var batch = decoder.decodeBatch(body, nowMs: nowMs)
        let requestKeys = applyGuards(to: &batch.events)
        let result = IngestResult(accepted: batch.events.count, rejected: batch.rejected, errors: batch.errors)
        if batch.events.isEmpty {
            return Prepared(eventCount: 0, result: result, payload: [], aggregate: BatchAggregate())
        }
        let aggregate =
            commitLog.aggregator.keepsNothing
            ? nil : BatchAggregate(events: batch.events, requestKeys: requestKeys, rules: configuration.rules)
        var prepared = Prepared(
            eventCount: batch.events.count, result: result,
            payload: EventCodec.encode(batch.events, requestKeys: requestKeys), aggregate: aggregate)
        if let rawEvents {
            // By index, not `zip(batch.events, batch.lines)`: that copied every event, retaining each of its strings,
            // also the events sampling passes over (most of a shipment's, when the drill-down's writer lags).
            for i in batch.events.indices {
                let isError = RawEvent.isError(batch.events[i], rules: configuration.rules)
                // Asked before the line is copied: when the store lags, sampling saves the copy too.
                guard rawEvents.wants(isError: isError, pending: prepared.raw.count) else {
                    prepared.sampledOut += 1
                    continue
                }
                let line = String(decoding: UnsafeRawBufferPointer(rebasing: body[batch.lines[i]]), as: UTF8.self)
                prepared.raw.append(RawEvent(batch.events[i], line: line, isError: isError))
            }
        }
        return prepared
    }

    /// Runs the cardinality guards over `events` and returns the series key of each request event (nil for other
    /// kinds), for the pre-aggregation.
    ///
    /// A request whose series both guards let through before skips them: its service and route are in the guards'
    /// sets, which only grow, so they would let it through again. That costs one lookup of the series' number (which
    /// the pre-aggregation needs anyway) and a bit, where the guards hashed the service twice and the route once under
    /// their locks (~4.5 % of the machine at full HTTP ingest, docs/benchmarks.md). Every other event goes through the
    /// guards in the batch's order, as before; what they fold is counted as before.
    private func applyGuards(to events: inout [Event]) -> [RequestKey?] {
        var keys = [RequestKey?](repeating: nil, count: events.count)
        var others: [Int] = []
        admittedRequests.withLock { bits in
            events.withUnsafeBufferPointer { events in
                for i in events.indices {
                    guard events[i].kind == .request else {
                        others.append(i)
                        continue
                    }
                    let key = RequestKey(of: events.baseAddress.unsafelyUnwrapped + i)
                    keys[i] = key
                    let id = Int(key.id)
                    if id >> 6 < bits.count, bits[id >> 6] & (1 << (id & 63)) != 0 { continue }
                    others.append(i)
                }
            }
        }
        guard !others.isEmpty else { return keys }
        let identities = identityGuard.apply(to: &events, at: others)
        if !identities.isEmpty {
            status.foldedServices.add(UInt64(identities.services), ordering: .relaxed)
            status.foldedQueues.add(UInt64(identities.queues), ordering: .relaxed)
            status.foldedJobs.add(UInt64(identities.jobs), ordering: .relaxed)
        }
        // After the service guard, so a folded service's routes count against `__other__`.
        let folded = routeGuard.apply(to: &events, at: others)
        if folded > 0 { status.seriesLimited.add(UInt64(folded), ordering: .relaxed) }
        admittedRequests.withLock { bits in
            events.withUnsafeBufferPointer { events in
                for i in others where events[i].kind == .request {
                    let key = RequestKey(of: events.baseAddress.unsafelyUnwrapped + i)
                    guard key == keys[i] else {
                        // A guard folded the service or the route: a series of its own, and the guards again next time.
                        keys[i] = key
                        continue
                    }
                    let id = Int(key.id)
                    if id >> 6 >= bits.count {
                        bits.append(contentsOf: repeatElement(0, count: id >> 6 - bits.count + 1))
                    }
                    bits[id >> 6] |= 1 << (id & 63)
                }
            }
        }
        return keys
    }

    /// Durably logs a prepared body and returns the answer for the client.
    public func commit(_ prepared: Prepared) async throws -> IngestResult {
        status.rejected.add(UInt64(prepared.result.rejected), ordering: .relaxed)
        guard prepared.eventCount > 0 else { return prepared.result }
        do {
            _ = try await commitLog.commit(payload: prepared.payload, aggregate: prepared.aggregate)
        } catch {
            status.refusedBatches.add(1, ordering: .relaxed)
            throw error
        }
        status.accepted.add(UInt64(prepared.eventCount), ordering: .relaxed)
        // Only acknowledged events reach the drill-down.
        rawEvents?.add(prepared.raw, sampledOut: prepared.sampledOut)
        return prepared.result
    }

    /// Ingests one decompressed body held in `bytes`.
    public func ingest(_ bytes: [UInt8], nowMs: Int64) async throws -> IngestResult {
        let prepared = try bytes.withUnsafeBytes { raw throws(CollectorError) in try prepare(raw, nowMs: nowMs) }
        return try await commit(prepared)
    }
}
