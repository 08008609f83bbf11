import Foundation
import Testing

/// Records mismatches as test issues and counts them, so a test can print the server log when it failed.
///
/// Swift Testing offers no way to ask whether the current test has failed; every comparison of the
/// end-to-end tests goes through here instead.
final class Scorecard: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var checked = 0

    /// How many expectations failed so far.
    var failures: Int { lock.withLock { count } }
    /// How many comparisons were made, for the test's summary line.
    var comparisons: Int { lock.withLock { checked } }

    private func tick() { lock.withLock { checked += 1 } }

    /// Records a failure unless `condition` holds.
    func check(_ condition: Bool, _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation)
    {
        tick()
        guard !condition else { return }
        fail(what(), sourceLocation: sourceLocation)
    }

    /// Records a failure unless `got == want`.
    func equal<T: Equatable>(
        _ got: T?, _ want: T, _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        tick()
        guard got != want else { return }
        fail("\(what()): got \(got.map { "\($0)" } ?? "nil"), want \(want)", sourceLocation: sourceLocation)
    }

    /// Records a failure unless `got` is within `relative` of `want` (both nil also matches).
    func close(
        _ got: Double?, _ want: Double?, relative: Double = 1e-9, _ what: @autoclosure () -> String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        tick()
        switch (got, want) {
        case (nil, nil): return
        case (let g?, let w?) where abs(g - w) <= relative * abs(w) + 1e-12: return
        default: fail("\(what()): got \(Self.show(got)), want \(Self.show(want))", sourceLocation: sourceLocation)
        }
    }

    /// SPEC §5: a reported quantile (seconds) within 1 % of the exact sample quantile (milliseconds); 0 exactly 0.
    func quantile(
        _ gotSeconds: Double??, exactMs: Double?, _ what: @autoclosure () -> String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        tick()
        let got = gotSeconds.flatMap { $0 }
        guard let exactMs else {
            if got != nil {
                fail("\(what()): got \(Self.show(got)) for an empty window, want null", sourceLocation: sourceLocation)
            }
            return
        }
        guard let got else {
            fail("\(what()): missing, want \(exactMs / 1000) s", sourceLocation: sourceLocation)
            return
        }
        let gotMs = got * 1000
        let ok = exactMs == 0 ? got == 0 : abs(gotMs - exactMs) <= 0.01 * exactMs * (1 + 1e-9)
        if !ok {
            let error = exactMs == 0 ? "" : String(format: " (%.3f %% off)", abs(gotMs - exactMs) / exactMs * 100)
            fail("\(what()): got \(got) s, exact \(exactMs / 1000) s\(error)", sourceLocation: sourceLocation)
        }
    }

    /// Records `message` as an issue.
    func fail(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        lock.withLock { count += 1 }
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }

    private static func show(_ v: Double?) -> String { v.map { "\($0)" } ?? "nil" }
}

/// Runs `body` against a started server; prints the server's log tail when the body threw or an expectation
/// failed, and always stops the server.
func withOpsightServer(
    _ label: String, configure: (OpsightServer) throws -> Void = { _ in },
    _ body: (OpsightServer, Scorecard) async throws -> Void
) async throws {
    let server = try OpsightServer(label: label)
    let card = Scorecard()
    do {
        try configure(server)
        try await server.start()
        try await body(server, card)
    } catch {
        await server.stop()
        print("e2e[\(label)] failed: \(error)\n\(server.logTail())")
        throw error
    }
    let outcome = await server.stop()
    // Graceful shutdown on SIGTERM (service-lifecycle style) is what an operator relies on.
    card.check(
        outcome == .exited(0) || outcome == .notRunning,
        "opsight should exit 0 within 5 s of SIGTERM, got \(outcome)")
    print("e2e[\(label)]: \(card.comparisons) comparisons, \(card.failures) failed")
    if card.failures > 0 {
        print("e2e[\(label)]: \(card.failures) expectation(s) failed\n\(server.logTail())")
    } else {
        await server.removeData()
    }
}

/// Runs `body` with servers the body starts itself, then stops them all; their logs are printed on failure
/// and their data removed on success.
func withOpsightServers(_ servers: [OpsightServer], _ body: (Scorecard) async throws -> Void) async throws {
    let card = Scorecard()
    var failure: (any Error)?
    do { try await body(card) } catch { failure = error }
    for s in servers { await s.stop() }
    print("e2e[\(servers.map(\.directory.lastPathComponent).joined(separator: " "))]: \(card.comparisons) comparisons, \(card.failures) failed")
    if failure != nil || card.failures > 0 {
        for s in servers { print(s.logTail()) }
    } else {
        for s in servers { await s.removeData() }
    }
    if let failure { throw failure }
}
