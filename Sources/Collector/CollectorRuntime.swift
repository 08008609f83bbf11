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
    /// Records replayed into some store at start.
    public let replayedRecords: Int

    /// Opens the log in `walDirectory`, asks each store how far it got, replays the rest, and starts the
    /// commit thread. Records both stores already hold are still read, only to learn job enqueue times.
    public static func open(
        wal walConfiguration: WriteAheadLog.Configuration,
        ingest: IngestPipeline.Configuration,
        hot: any MetricsStore,
        durable: any MetricsStore,
        rawEvents: RawEventBuffer? = nil,
        logger: Logger
    ) async throws -> CollectorRuntime {
        let wal = try WriteAheadLog(configuration: walConfiguration)
        let collectorID = try Self.collectorID(in: walConfiguration.directory)
        let hotPosition = try await hot.committedPosition(collector: collectorID)
        let durablePosition = try await durable.committedPosition(collector: collectorID)
        let aggregator = Aggregator(hotPosition: hotPosition, durablePosition: durablePosition)
        let status = CollectorStatus(hotPosition: hotPosition, durablePosition: durablePosition)
        let commitLog = CommitLog(wal: wal, aggregator: aggregator)
        let pipeline = IngestPipeline(configuration: ingest, commitLog: commitLog, status: status, rawEvents: rawEvents)
        var replayed = 0
        try wal.forEachRecord(after: 0) { end, payload in
            let events = try EventCodec.decode(payload)
            var targets: Aggregator.Targets = []
            if end > hotPosition { targets.insert(.hot) }
            if end > durablePosition { targets.insert(.durable) }
            if !targets.isEmpty { replayed += 1 }
            var routes: [String: Set<String>] = [:]
            for e in events where e.kind == .request {
                if let r = e.route { routes[e.service, default: []].insert(r) }
            }
            for (service, set) in routes { pipeline.routeGuard.seed(service: service, routes: set) }
            pipeline.identityGuard.seed(events)
            aggregator.apply(BatchAggregate(events: events, rules: ingest.rules), position: end, targets: targets)
        }
        logger.info(
            "collector opened",
            metadata: [
                "collector": "\(collectorID)", "wal_end": "\(wal.endPosition)", "hot_position": "\(hotPosition)",
                "durable_position": "\(durablePosition)", "replayed_records": "\(replayed)",
            ])
        commitLog.start()
        return CollectorRuntime(
            collectorID: collectorID, wal: wal, aggregator: aggregator, commitLog: commitLog, status: status,
            pipeline: pipeline, replayedRecords: replayed)
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
