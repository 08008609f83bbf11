import Testing

/// Waits (in real time, bounded) until `condition` holds; records an issue and throws if it never does, so the
/// test stops there: going on would step a manual clock before the sleeper it is meant for, and the awaits after it
/// would hang the whole run.
///
/// Only used to wait for work that was already triggered (a batch after a clock step), never to let time pass. The
/// bound is loose: the unit tests' process starts with ~20 s in which CPU-bound suites hold both threads of the
/// cooperative pool, and a wait queued behind them is not a failure of the emitter.
func eventually(
    _ what: String,
    timeout: Duration = .seconds(90),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while !condition() {
        if clock.now > deadline {
            Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
            throw TimedOut(what: what)
        }
        try? await Task.sleep(for: .milliseconds(1))
    }
}

/// Lets other tasks run for a moment, so that a step that should have no effect would show one.
func settle() async {
    for _ in 0..<20 {
        await Task.yield()
    }
    try? await Task.sleep(for: .milliseconds(20))
}

/// Waits for a run loop to return; if it has not within `timeout` (real time), cancels it and records an issue,
/// so a failing test fails instead of hanging on a manual clock nobody advances. Loose for the same reason as
/// ``eventually(_:timeout:sourceLocation:_:)``'s.
func finish(
    _ loop: Task<Void, Never>,
    within timeout: Duration = .seconds(90),
    sourceLocation: SourceLocation = #_sourceLocation
) async {
    let watchdog = Task { () -> Bool in
        do {
            try await Task.sleep(for: timeout)
        } catch {
            return false
        }
        loop.cancel()
        return true
    }
    await loop.value
    watchdog.cancel()
    if await watchdog.value {
        Issue.record("the run loop did not return within \(timeout)", sourceLocation: sourceLocation)
    }
}

/// What ``eventually(_:timeout:sourceLocation:_:)`` throws when its condition never held.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting until \(what)" }
}
