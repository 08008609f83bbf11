import Alerting
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Alerting's state, outbox, silences, history and lease in PostgreSQL (migrations 2 and 5).
///
/// The lease is fenced: each time it changes hands it gets a new token from a sequence (never reused), and the
/// writes only the holder may do (the state, history and outbox commit; claiming, retrying and failing
/// notifications) run only while the lease row still carries the token this store was last granted, checked with
/// the row locked (`FOR SHARE`) in the write's own statement or transaction. A holder paused past its lease (a GC
/// stall, a stopped VM, a clock that runs slow) has its late writes refused instead of overwriting its
/// successor's. A store that never took the lease (tools, tests of the outbox alone) writes unfenced.
///
/// Nothing here holds session state: every statement is unnamed, locks are transaction-scoped, so the store works
/// through a pooler in transaction mode (pgbouncer `pool_mode = transaction`).
public final class PostgresAlertStore: AlertStore {
    private let client: PostgresClient
    private let schema: String
    private let logger: Logger
    /// The lease whose token fences the holder's writes.
    private let fencingLease: String
    /// The token of `fencingLease` this store was last granted (nil: never).
    private let token = Mutex<Int64?>(nil)

    /// Creates the store over a running client; `schema` as for the durable store. The writes only the holder of
    /// lease `fencingLease` may do are fenced by its token once this store has taken it.
    public init(client: PostgresClient, schema: String, fencingLease: String = "alerting", logger: Logger) {
        self.client = client
        self.schema = Migrations.quoted(schema)
        self.fencingLease = fencingLease
        self.logger = logger
    }

    /// The token of the fencing lease this store holds or last held (nil: it never took the lease).
    public var fencingToken: Int64? { token.withLock { $0 } }

    /// The refusal of a fenced write.
    private func fenced(_ what: String, _ token: Int64) -> StorageError {
        StorageError(
            .fenced,
            "\(what) refused: the alerting lease has passed to another process since this one took it "
                + "(token \(token)); it no longer evaluates or delivers")
    }

    /// Locks the lease row if it still carries `token`; throws ``StorageError/Code/fenced`` otherwise.
    private func checkFence(_ conn: PostgresConnection, _ token: Int64, _ what: String) async throws {
        let rows = try await conn.query(
            """
            SELECT 1 FROM \(unescaped: schema).leases WHERE name = \(fencingLease) AND token = \(token) FOR SHARE
            """, logger: logger)
        var held = false
        for try await _ in rows { held = true }
        if !held { throw fenced(what, token) }
    }

    public func loadState() async throws -> [String: [UInt8]] {
        try await wrap {
            var out: [String: [UInt8]] = [:]
            let rows = try await client.query("SELECT part, snapshot FROM \(unescaped: schema).alerting_state", logger: logger)
            for try await (part, snapshot) in rows.decode((String, ByteBuffer).self) {
                out[part] = Array(buffer: snapshot)
            }
            return out
        }
    }

    public func commit(state: [String: [UInt8]], history: [AlertHistoryEntry], outbox: [OutboxMessage], nowMs: Int64)
        async throws
    {
        let fence = fencingToken
        try await wrap {
            try await client.withTransaction(logger: logger) { conn in
                if let fence { try await checkFence(conn, fence, "alerting state commit") }
                for (part, snapshot) in state.sorted(by: { $0.key < $1.key }) {
                    let bytes = ByteBuffer(bytes: snapshot)
                    try await conn.query(
                        """
                        INSERT INTO \(unescaped: schema).alerting_state (part, snapshot, updated_ms)
                        VALUES (\(part), \(bytes), \(nowMs))
                        ON CONFLICT (part) DO UPDATE SET snapshot = EXCLUDED.snapshot, updated_ms = EXCLUDED.updated_ms
                        """, logger: logger)
                }
                for t in history {
                    let labels = Self.encode(t.labels)
                    try await conn.query(
                        """
                        INSERT INTO \(unescaped: schema).alert_history (at_ms, alertname, labels, state, value)
                        VALUES (\(t.atMs), \(t.alertname), \(labels), \(t.state), \(t.value))
                        """, logger: logger)
                }
                for m in outbox {
                    let headers = Self.encode(m.headers)
                    let body = ByteBuffer(bytes: m.body)
                    try await conn.query(
                        """
                        INSERT INTO \(unescaped: schema).notifications
                            (id, receiver, integration, group_key, status, alerts, url, headers, body, created_ms,
                             next_attempt_ms)
                        VALUES (\(m.id), \(m.receiver), \(m.integration), \(m.groupKey), \(m.status), \(m.alerts),
                                \(m.url), \(headers), \(body), \(nowMs), \(nowMs))
                        ON CONFLICT (id) DO NOTHING
                        """, logger: logger)
                }
            }
        }
    }

    private static let recordColumns = """
        id, seq, receiver, integration, group_key, status, alerts, url, headers, body, state, attempts, created_ms,
        next_attempt_ms, delivered_ms, last_status, last_error
        """

    public func claimDue(limit: Int, nowMs: Int64, claimMs: Int64) async throws -> [OutboxRecord] {
        let fence = fencingToken
        return try await wrap {
            try await client.withTransaction(logger: logger) { conn in
                if let fence { try await checkFence(conn, fence, "notification claim") }
                let rows = try await conn.query(
                    """
                    UPDATE \(unescaped: schema).notifications SET next_attempt_ms = \(nowMs + claimMs), attempts = attempts + 1
                    WHERE id IN (
                        SELECT id FROM \(unescaped: schema).notifications
                        WHERE state = 'pending' AND next_attempt_ms <= \(nowMs)
                        ORDER BY next_attempt_ms, seq LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                    RETURNING \(unescaped: Self.recordColumns)
                    """, logger: logger)
                return try await records(rows).sorted { $0.sequence < $1.sequence }
            }
        }
    }

    public func markDelivered(id: UUID, status: Int, atMs: Int64) async throws {
        try await wrap {
            try await client.query(
                """
                UPDATE \(unescaped: schema).notifications
                SET state = 'delivered', delivered_ms = \(atMs), last_status = \(status), last_error = NULL
                WHERE id = \(id)
                """, logger: logger)
        }
    }

    public func markRetry(id: UUID, status: Int?, error: String, nextAttemptAtMs: Int64) async throws {
        // Fenced in the statement: a paused ex-holder's retry does not push back its successor's delivery.
        let fence = fencingToken
        try await wrap {
            try await client.query(
                """
                UPDATE \(unescaped: schema).notifications
                SET next_attempt_ms = \(nextAttemptAtMs), last_status = \(status), last_error = \(error)
                WHERE id = \(id) AND state = 'pending' AND (\(fence)::int8 IS NULL OR EXISTS (
                    SELECT 1 FROM \(unescaped: schema).leases WHERE name = \(fencingLease) AND token = \(fence) FOR SHARE))
                """, logger: logger)
        }
    }

    public func markFailed(id: UUID, status: Int?, error: String, atMs: Int64) async throws {
        let fence = fencingToken
        try await wrap {
            try await client.query(
                """
                UPDATE \(unescaped: schema).notifications
                SET state = 'failed', next_attempt_ms = \(atMs), last_status = \(status), last_error = \(error)
                WHERE id = \(id) AND state = 'pending' AND (\(fence)::int8 IS NULL OR EXISTS (
                    SELECT 1 FROM \(unescaped: schema).leases WHERE name = \(fencingLease) AND token = \(fence) FOR SHARE))
                """, logger: logger)
        }
    }

    public func notifications(limit: Int) async throws -> [OutboxRecord] {
        try await withPostgresRead { [self] in
            let rows = try await client.query(
                """
                SELECT \(unescaped: Self.recordColumns) FROM \(unescaped: schema).notifications
                ORDER BY seq DESC LIMIT \(limit)
                """, logger: logger)
            return try await records(rows)
        }
    }

    public func history(limit: Int) async throws -> [AlertHistoryEntry] {
        try await withPostgresRead { [self] in
            let rows = try await client.query(
                """
                SELECT at_ms, alertname, labels, state, value FROM \(unescaped: schema).alert_history
                ORDER BY id DESC LIMIT \(limit)
                """, logger: logger)
            var out: [AlertHistoryEntry] = []
            for try await (at, name, labels, state, value) in rows.decode((Int64, String, String, String, Double?).self) {
                out.append(.init(atMs: at, alertname: name, labels: Self.decode(labels), state: state, value: value))
            }
            return out
        }
    }

    public func acquireLease(name: String, holder: String, ttlMs: Int64, nowMs: Int64) async throws -> Bool {
        try await wrap {
            // A renewal of an unexpired lease keeps its token; a takeover (another holder, or the same one after its
            // lease ran out, when someone else may have written meanwhile) gets a new one.
            let rows = try await client.query(
                """
                INSERT INTO \(unescaped: schema).leases (name, holder, expires_ms)
                VALUES (\(name), \(holder), \(nowMs + ttlMs))
                ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_ms = EXCLUDED.expires_ms,
                    token = CASE WHEN leases.holder = EXCLUDED.holder AND leases.expires_ms >= \(nowMs)
                                 THEN leases.token ELSE EXCLUDED.token END
                WHERE leases.holder = EXCLUDED.holder OR leases.expires_ms < \(nowMs)
                RETURNING token
                """, logger: logger)
            for try await (granted) in rows.decode(Int64.self) {
                if name == fencingLease { token.withLock { $0 = granted } }
                return true
            }
            return false
        }
    }

    public func releaseLease(name: String, holder: String) async throws {
        try await wrap {
            try await client.query(
                "DELETE FROM \(unescaped: schema).leases WHERE name = \(name) AND holder = \(holder)", logger: logger)
        }
    }

    public func saveSilence(id: UUID, encoded: [UInt8], endsAtMs: Int64, nowMs: Int64) async throws {
        let bytes = ByteBuffer(bytes: encoded)
        try await wrap {
            try await client.query(
                """
                INSERT INTO \(unescaped: schema).silences (id, silence, ends_ms, updated_ms)
                VALUES (\(id), \(bytes), \(endsAtMs), \(nowMs))
                ON CONFLICT (id) DO UPDATE SET silence = EXCLUDED.silence, ends_ms = EXCLUDED.ends_ms,
                    updated_ms = EXCLUDED.updated_ms
                """, logger: logger)
        }
    }

    public func silences(endedAfterMs sinceMs: Int64) async throws -> [[UInt8]] {
        try await withPostgresRead { [self] in
            let rows = try await client.query(
                "SELECT silence FROM \(unescaped: schema).silences WHERE ends_ms > \(sinceMs) ORDER BY updated_ms",
                logger: logger)
            var out: [[UInt8]] = []
            for try await (bytes) in rows.decode(ByteBuffer.self) { out.append(Array(buffer: bytes)) }
            return out
        }
    }

    private func records(_ rows: PostgresRowSequence) async throws -> [OutboxRecord] {
        var out: [OutboxRecord] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            let message = OutboxMessage(
                id: try c["id"].decode(UUID.self), receiver: try c["receiver"].decode(String.self),
                integration: try c["integration"].decode(String.self), groupKey: try c["group_key"].decode(String.self),
                status: try c["status"].decode(String.self), alerts: try c["alerts"].decode(Int.self),
                url: try c["url"].decode(String.self), headers: Self.decode(try c["headers"].decode(String.self)),
                body: Array(buffer: try c["body"].decode(ByteBuffer.self)))
            out.append(
                OutboxRecord(
                    message: message, sequence: try c["seq"].decode(Int64.self),
                    state: OutboxRecord.State(rawValue: try c["state"].decode(String.self)) ?? .pending,
                    attempts: try c["attempts"].decode(Int.self), createdAtMs: try c["created_ms"].decode(Int64.self),
                    nextAttemptAtMs: try c["next_attempt_ms"].decode(Int64.self),
                    deliveredAtMs: try c["delivered_ms"].decode(Int64?.self),
                    lastStatus: try c["last_status"].decode(Int?.self), lastError: try c["last_error"].decode(String?.self)))
        }
        return out
    }

    private static func encode(_ map: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(map)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    private static func decode(_ text: String) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }

    @discardableResult
    private func wrap<T>(_ body: () async throws -> T) async throws -> T { try await withPostgresErrors(body) }
}
