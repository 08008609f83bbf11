import Foundation
import Logging
import PostgresNIO

/// Documents and the assessment job queue in PostgreSQL, in one schema.
///
/// The queue is the `assessments` table: a worker claims the oldest claimable `queued` row with
/// `SELECT … FOR UPDATE SKIP LOCKED` inside the `UPDATE` that marks it `running`, so two workers never
/// claim the same attempt and neither waits for the other.
public struct AssessmentStore: Sendable {
    /// The client; run by the caller.
    public let client: PostgresClient
    /// The schema holding the tables.
    public let schema: String
    /// Where statement failures are logged.
    public let logger: Logger

    /// Creates a store over `schema` (letters, digits and `_` only).
    public init(client: PostgresClient, schema: String, logger: Logger) throws(AssessmentError) {
        guard !schema.isEmpty,
            schema.utf8.allSatisfy({
                $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0)
                    || (0x61...0x7a).contains($0)
            })
        else {
            throw AssessmentError(.invalidConfiguration, "schema '\(schema)' must be lower-case letters, digits and _")
        }
        self.client = client
        self.schema = schema
        self.logger = logger
    }

    /// `"schema".name`, for statements.
    private func table(_ name: String) -> String { "\"\(schema)\".\(name)" }

    /// Creates the schema and tables when missing.
    public func migrate() async throws {
        let statements = [
            "CREATE SCHEMA IF NOT EXISTS \"\(schema)\"",
            """
            CREATE TABLE IF NOT EXISTS \(table("documents")) (
                id uuid PRIMARY KEY, user_id text NOT NULL, title text NOT NULL, content text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table("assessments")) (
                id uuid PRIMARY KEY, document_id uuid NOT NULL REFERENCES \(table("documents"))(id),
                user_id text NOT NULL, frameworks jsonb NOT NULL, state text NOT NULL, attempts int NOT NULL DEFAULT 0,
                progress double precision NOT NULL DEFAULT 0, run_after timestamptz NOT NULL DEFAULT now(),
                created_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz, finished_at timestamptz,
                claimed_by text, result jsonb, error text)
            """,
            "CREATE INDEX IF NOT EXISTS assessments_claimable ON \(table("assessments")) (run_after) WHERE state = 'queued'",
            // When the job last went into the queue (created, or rescheduled for a retry): its `started` event
            // carries the queue wait from it (`wait_ms`), so the wait never depends on pairing events.
            """
            ALTER TABLE \(table("assessments"))
                ADD COLUMN IF NOT EXISTS queued_at timestamptz NOT NULL DEFAULT now()
            """,
        ]
        for statement in statements {
            try await run(PostgresQuery(unsafeSQL: statement))
        }
    }

    /// Stores a document and returns its id.
    public func insertDocument(userID: String, title: String, content: String) async throws -> UUID {
        let id = UUID()
        try await run(
            "INSERT INTO \(unescaped: table("documents")) (id, user_id, title, content) VALUES (\(id), \(userID), \(title), \(content))"
        )
        return id
    }

    /// Whether a document exists.
    public func documentExists(_ id: UUID) async throws -> Bool {
        let rows = try await client.query(
            "SELECT 1 FROM \(unescaped: table("documents")) WHERE id = \(id)", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Queues an assessment of `documentID` and returns its id.
    public func enqueueAssessment(documentID: UUID, userID: String, frameworks: [String]) async throws -> UUID {
        let id = UUID()
        let json = String(decoding: try JSONEncoder().encode(frameworks), as: UTF8.self)
        try await run(
            """
            INSERT INTO \(unescaped: table("assessments")) (id, document_id, user_id, frameworks, state)
            VALUES (\(id), \(documentID), \(userID), \(json)::jsonb, 'queued')
            """
        )
        return id
    }

    /// Claims the oldest claimable job for `worker`, or returns `nil` when there is none.
    ///
    /// Claimable are queued jobs whose `run_after` has passed and running jobs started more than `staleAfter` ago
    /// (their worker died). Reclaiming counts a new attempt, and the old worker's late outcome is then refused,
    /// since outcomes are written only for the attempt that holds the claim.
    public func claim(worker: String, staleAfter: Duration = .seconds(600)) async throws -> ClaimedJob? {
        let a = table("assessments")
        let stale = OpsightSeconds.of(staleAfter)
        let rows = try await client.query(
            """
            UPDATE \(unescaped: a) AS j SET state = 'running', attempts = j.attempts + 1, started_at = now(),
                progress = 0.1, claimed_by = \(worker)
            FROM \(unescaped: table("documents")) AS d
            WHERE j.id = (SELECT id FROM \(unescaped: a)
                          WHERE (state = 'queued' AND run_after <= now())
                             OR (state = 'running' AND started_at < now() - make_interval(secs => \(stale)))
                          ORDER BY run_after, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
              AND d.id = j.document_id
            RETURNING j.id, j.document_id, j.attempts, j.frameworks::text, d.content, j.claimed_by, j.user_id,
                greatest(extract(epoch FROM clock_timestamp() - j.queued_at), 0)::float8
            """,
            logger: logger
        )
        for try await (id, documentID, attempts, frameworks, content, claimedBy, userID, waited) in rows.decode(
            (UUID, UUID, Int, String, String, String, String, Double).self)
        {
            let list = (try? JSONDecoder().decode([String].self, from: Data(frameworks.utf8))) ?? []
            return ClaimedJob(
                id: id, documentID: documentID, attempt: attempts, frameworks: list, content: content,
                claimedBy: claimedBy, userID: userID, queueWait: .microseconds(Int64((waited * 1e6).rounded())))
        }
        return nil
    }

    /// Stores a claimed job's result; `false` when this attempt no longer holds the claim.
    @discardableResult
    public func complete(_ job: ClaimedJob, resultJSON: String) async throws -> Bool {
        try await updateCount(
            """
            UPDATE \(unescaped: table("assessments")) SET state = 'succeeded', progress = 1, finished_at = now(),
                result = \(resultJSON)::jsonb, error = NULL
            WHERE id = \(job.id) AND state = 'running' AND attempts = \(job.attempt) RETURNING 1
            """
        ) == 1
    }

    /// Puts a failed job back on the queue, claimable after `delay`; `false` when this attempt lost the claim.
    @discardableResult
    public func reschedule(_ job: ClaimedJob, after delay: Duration, error: String) async throws -> Bool {
        let seconds = OpsightSeconds.of(delay)
        return try await updateCount(
            """
            UPDATE \(unescaped: table("assessments")) SET state = 'queued', progress = 0, claimed_by = NULL,
                run_after = now() + make_interval(secs => \(seconds)), queued_at = clock_timestamp(), error = \(error)
            WHERE id = \(job.id) AND state = 'running' AND attempts = \(job.attempt) RETURNING 1
            """
        ) == 1
    }

    /// Marks a job failed for good; `false` when this attempt lost the claim.
    @discardableResult
    public func fail(_ job: ClaimedJob, error: String) async throws -> Bool {
        try await updateCount(
            """
            UPDATE \(unescaped: table("assessments")) SET state = 'failed', finished_at = now(), error = \(error)
            WHERE id = \(job.id) AND state = 'running' AND attempts = \(job.attempt) RETURNING 1
            """
        ) == 1
    }

    /// Reads one assessment, or `nil` when there is none with that id.
    public func assessment(_ id: UUID) async throws -> AssessmentRecord? {
        let rows = try await client.query(
            """
            SELECT id, document_id, state, attempts, progress, result::text, error,
                   CASE WHEN state = 'running' THEN extract(epoch FROM now() - started_at)::float8 END,
                   CASE WHEN state = 'queued' THEN greatest(extract(epoch FROM run_after - now()), 0)::float8 END
            FROM \(unescaped: table("assessments")) WHERE id = \(id)
            """,
            logger: logger
        )
        for try await (id, documentID, state, attempts, progress, result, error, runningFor, runsIn) in rows.decode(
            (UUID, UUID, String, Int, Double, String?, String?, Double?, Double?).self)
        {
            return AssessmentRecord(
                id: id, documentID: documentID, state: AssessmentState(rawValue: state) ?? .queued, attempts: attempts,
                progress: progress, resultJSON: result, error: error, runningFor: runningFor, runsIn: runsIn)
        }
        return nil
    }

    /// Counts of assessments by state.
    public func stateCounts() async throws -> [String: Int] {
        let rows = try await client.query(
            "SELECT state, count(*)::int8 FROM \(unescaped: table("assessments")) GROUP BY state", logger: logger)
        var counts: [String: Int] = [:]
        for try await (state, count) in rows.decode((String, Int).self) { counts[state] = count }
        return counts
    }

    /// How many distinct users have an assessment in each state.
    public func usersByState() async throws -> [String: Int] {
        let rows = try await client.query(
            "SELECT state, count(DISTINCT user_id)::int8 FROM \(unescaped: table("assessments")) GROUP BY state",
            logger: logger)
        var counts: [String: Int] = [:]
        for try await (state, count) in rows.decode((String, Int).self) { counts[state] = count }
        return counts
    }

    /// Runs a statement, discarding rows.
    private func run(_ query: PostgresQuery) async throws {
        do {
            _ = try await client.query(query, logger: logger).collect()
        } catch {
            throw AssessmentError(.database, "statement failed", underlying: error)
        }
    }

    /// Runs an `UPDATE … RETURNING 1` and returns how many rows it changed.
    private func updateCount(_ query: PostgresQuery) async throws -> Int {
        do {
            return try await client.query(query, logger: logger).collect().count
        } catch {
            throw AssessmentError(.database, "update failed", underlying: error)
        }
    }
}

/// Durations as seconds for SQL intervals and JSON.
enum OpsightSeconds {
    /// `duration` in (fractional) seconds.
    static func of(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
