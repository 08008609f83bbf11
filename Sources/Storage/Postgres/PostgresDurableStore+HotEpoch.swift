import Collector
import NIOCore
import PostgresNIO

/// The durable store's part in a hot-store rebuild (docs/hot-store-loss.md): the epoch every commit is fenced by,
/// and the snapshot a rebuild loads.
extension PostgresDurableStore: HotEpochSource {
    public func commit(_ delta: Delta, position: UInt64, collector: String, hotEpoch: String?) async throws {
        try await commit(delta, position: position, collector: collector, fenceEpoch: hotEpoch)
    }

    public func hotEpoch() async throws -> HotEpochRecord? {
        try await wrap {
            let rows = try await client.query(
                """
                SELECT e.epoch, p.collector, p.position FROM \(unescaped: schema).hot_epoch e
                LEFT JOIN \(unescaped: schema).hot_epoch_positions p ON p.epoch = e.epoch
                WHERE e.id = 1 AND e.epoch IS NOT NULL
                """, logger: logger)
            var record: HotEpochRecord?
            for try await (epoch, collector, position) in rows.decode((String, String?, Int64?).self) {
                if record == nil { record = HotEpochRecord(epoch: epoch, positions: [:]) }
                if let collector, let position { record?.positions[collector] = UInt64(position) }
            }
            return record
        }
    }

    public func startHotEpoch(
        _ epoch: String, minutes: ClosedRange<Int64>, funnelStepsAfterMs: Int64, jobFactsAfterMs: Int64,
        sink: @Sendable (Delta) async throws -> Void
    ) async throws -> [String: UInt64] {
        try await wrap {
            try await client.withTransaction(logger: logger) { conn in
                // The row lock waits for the commits under way (they hold it FOR SHARE) and keeps new ones out until
                // this transaction ends; each statement below then reads the same committed state, which is one
                // instant of every collector's position and data. Commits after it see the new epoch and refuse.
                try await conn.query(
                    """
                    UPDATE \(unescaped: schema).hot_epoch SET epoch = \(epoch), started_at = now() WHERE id = 1
                    """, logger: logger)
                try await conn.query(
                    "DELETE FROM \(unescaped: schema).hot_epoch_positions WHERE epoch <> \(epoch)", logger: logger)
                let rows = try await conn.query(
                    """
                    INSERT INTO \(unescaped: schema).hot_epoch_positions (epoch, collector, position)
                    SELECT \(epoch), collector, position FROM \(unescaped: schema).wal_positions
                    RETURNING collector, position
                    """, logger: logger)
                var positions: [String: UInt64] = [:]
                for try await (collector, position) in rows.decode((String, Int64).self) {
                    positions[collector] = UInt64(position)
                }
                try await streamCells(conn, .read(service: nil), buckets: minutes, partRows: 20_000, sink: sink)
                var part = Delta()
                let steps = try await conn.query(
                    """
                    SELECT DISTINCT funnel, ts_ms, step, entity FROM \(unescaped: schema).funnel_steps
                    WHERE ts_ms > \(funnelStepsAfterMs)
                    """, logger: logger)
                for try await (funnel, ts, step, entity) in steps.decode((String, Int64, Int16, String).self) {
                    part.funnelSteps.insert(
                        FunnelStepRecord(funnel: funnel, step: Int(step), entity: entity, timestampMs: ts))
                    if part.funnelSteps.count >= 50_000 {
                        try await sink(part)
                        part = Delta()
                    }
                }
                let facts = try await conn.query(
                    """
                    SELECT service, job_id, kind, ts_ms, queue, job FROM \(unescaped: schema).job_facts
                    WHERE ts_ms > \(jobFactsAfterMs)
                    """, logger: logger)
                for try await (service, jobID, kind, ts, queue, job) in facts.decode(
                    (String, String, Int16, Int64, String, String).self)
                {
                    part.jobFacts.insert(
                        JobFact(
                            kind: kind == 0 ? .enqueued : .started, service: service, jobID: jobID, timestampMs: ts,
                            queue: queue, job: job))
                    if part.jobFacts.count >= 50_000 {
                        try await sink(part)
                        part = Delta()
                    }
                }
                if !part.isEmpty { try await sink(part) }
                return positions
            }
        }
    }
}
