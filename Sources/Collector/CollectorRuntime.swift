import Foundation
import Logging
import OpsightMetrics

/// The collector's parts, opened and recovered: the log, the aggregator, the commit thread and the pipeline.
public struct CollectorRuntime: Sendable {
    public let collectorID: String
    public let wal: WriteAheadLog
    public let aggregator: Aggregator
    public let commitLog: CommitLog
    public let status: CollectorStatus
    public let pipeline: IngestPipeline
    /// Records some store did not have at start: the flusher reads them back from the log.
    public let replayedRecords: Int
    /// The hot epoch the durable store recorded at start (``HotStoreRecovery``), when it records one.
    public let hotEpoch: String?

    /// Opens the log in `walDirectory`, asks each store how far it got, reads the log once to seed the cardinality
    /// guards, and starts the commit thread. What a store does not have yet stays in the log: the flusher reads it
    /// back in chunks (``Aggregator``), so memory does not grow with the size of the log.
    public static func open(
        wal walConfiguration: WriteAheadLog.Configuration,
        ingest: IngestPipeline.Configuration,
        hot: any MetricsStore,
        durable: any MetricsStore,
        rawEvents: RawEventBuffer? = nil,
        limits: Aggregator.Limits = .init(),
        logger: Logger
    ) async throws -> CollectorRuntime {
        let wal = try WriteAheadLog(configuration: walConfiguration)
        let collectorID = try Self.collectorID(in: walConfiguration.directory)
        var hotPosition = try await hot.committedPosition(collector: collectorID)
        let durablePosition = try await durable.committedPosition(collector: collectorID)
        let hotEpoch = try await (durable as? any HotEpochSource)?.hotEpoch()?.epoch
        if hot is any HotEpochStore, hotPosition < wal.startPosition {
            // The log was trimmed past what the hot store holds: only a store that lost data can be behind it. The
            // position believed is where the log starts, which the store then fails to hold, and it is rebuilt.
            logger.warning(
                "the hot store is behind the write-ahead log's start; it lost data",
                metadata: ["hot_position": "\(hotPosition)", "wal_start": "\(wal.startPosition)"])
            hotPosition = wal.startPosition
        }
        let end = wal.endPosition
        let aggregator = Aggregator(
            hotPosition: hotPosition, durablePosition: durablePosition, logEnd: end, limits: limits, rules: ingest.rules)
        let status = CollectorStatus(hotPosition: hotPosition, durablePosition: durablePosition)
        let commitLog = CommitLog(wal: wal, aggregator: aggregator)
        let pipeline = IngestPipeline(configuration: ingest, commitLog: commitLog, status: status, rawEvents: rawEvents)
        var replayed = 0
        try wal.forEachRecord(after: 0) { recordEnd, payload in
            let events = try EventCodec.decode(payload)
            if recordEnd > min(hotPosition, durablePosition) { replayed += 1 }
            var routes: [String: Set<String>] = [:]
            for e in events where e.kind == .request {
                if let r = e.route { routes[e.service, default: []].insert(r) }
            }
            for (service, set) in routes { pipeline.routeGuard.seed(service: service, routes: set) }
            pipeline.identityGuard.seed(events)
        }
        logger.info(
            "collector opened",
            metadata: [
                "collector": "\(collectorID)", "wal_end": "\(end)", "hot_position": "\(hotPosition)",
                "durable_position": "\(durablePosition)", "records_to_replay": "\(replayed)",
            ])
        commitLog.start()
        return CollectorRuntime(
            collectorID: collectorID, wal: wal, aggregator: aggregator, commitLog: commitLog, status: status,
            pipeline: pipeline, replayedRecords: replayed, hotEpoch: hotEpoch)
    }

    /// The identity of the collector that owns this log directory, created on first use.
    private static func collectorID(in directory: String) throws -> String {
        let path = directory + "/collector-id"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        let id = UUID().uuidString.lowercased()
        // Synced before the log's first record can carry it into a store: an id lost in a crash would make the
        // restarted collector a new one, replaying the whole log on top of what the stores already counted.
        try WriteAheadLog.writeDurably(id + "\n", to: path)
        return id
    }
}
