/// Polls `probe` every 200 ms until it reports success or `timeout` passes; throws with the last status then.
///
/// Writes reach Redis within ~0.2 s of the acknowledgement and PostgreSQL within ~5 s (SPEC §5 is silent on
/// the lag; these are the flush intervals), so the tests wait, bounded, before they compare figures.
func eventually(
    _ what: String, timeout: Duration = .seconds(30), _ probe: () async throws -> (done: Bool, status: String)
) async throws {
    let deadline = ContinuousClock.now + timeout
    var last = "never probed"
    while true {
        do {
            let (done, status) = try await probe()
            if done { return }
            last = status
        } catch {
            last = "\(error)"
        }
        if ContinuousClock.now > deadline { throw E2EError("\(what): still not true after \(timeout): \(last)") }
        try await Task.sleep(for: .milliseconds(200))
    }
}

/// ⌊a / b⌋ for any sign.
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { TimeText.floorDiv(a, b) }

/// `a` rounded up to a multiple of `b`.
func ceilTo(_ a: Int64, _ b: Int64) -> Int64 { -floorDiv(-a, b) * b }
