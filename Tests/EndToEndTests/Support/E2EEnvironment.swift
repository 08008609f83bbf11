import Foundation
import Testing

/// Where the end-to-end tests find the stores and the `opsight` binary.
///
/// `make test` sets `OPSIGHT_TEST_REDIS_URL`, `OPSIGHT_TEST_DATABASE_URL` and `OPSIGHT_BIN`; without the store
/// URLs every end-to-end suite is skipped (visibly, with the reason) rather than failing.
enum E2EEnvironment {
    /// The process environment at start.
    static let variables = ProcessInfo.processInfo.environment

    /// The Redis URL of the test stores, when set.
    static var redisURL: String? { nonEmpty("OPSIGHT_TEST_REDIS_URL") }

    /// The PostgreSQL URL of the test stores, when set.
    static var databaseURL: String? { nonEmpty("OPSIGHT_TEST_DATABASE_URL") }

    /// Whether both stores are configured; the `.enabled(if:)` condition of every end-to-end suite.
    static var storesConfigured: Bool { redisURL != nil && databaseURL != nil }

    /// The reason shown when the suites are skipped.
    static let skipReason: Comment = "OPSIGHT_TEST_REDIS_URL / OPSIGHT_TEST_DATABASE_URL unset: run `make test`"

    /// The package root, derived from this file's path (`<root>/Tests/EndToEndTests/Support/…`).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `OPSIGHT_BIN`, else `<root>/.build/debug/opsight`.
    static var binaryPath: String {
        nonEmpty("OPSIGHT_BIN") ?? packageRoot.appendingPathComponent(".build/debug/opsight").path
    }

    /// Unix milliseconds now.
    static var nowMs: Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// A short random lowercase identifier, for schemas, prefixes, tokens and service names.
    static func randomID(_ length: Int = 10) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in letters[Int(generator.next() % UInt64(letters.count))] })
    }

    private static func nonEmpty(_ name: String) -> String? {
        guard let v = variables[name], !v.isEmpty else { return nil }
        return v
    }
}
