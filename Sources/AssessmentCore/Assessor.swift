/// The "AI assessment" step: turns a claimed job into a result document (JSON text).
public protocol Assessor: Sendable {
    /// Assesses `job`; throwing fails this attempt (the worker decides whether to retry).
    func assess(_ job: ClaimedJob) async throws -> String
}
