/// Collects the errors of one load, so parsing can go on after a problem and report every one.
final class DiagnosticSink {
    /// The errors so far, in the order found.
    private(set) var errors: [ConfigError] = []

    /// Records `error`.
    func report(_ error: ConfigError) {
        errors.append(error)
    }
}
