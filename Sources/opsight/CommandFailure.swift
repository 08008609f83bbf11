/// A command that ran and failed: printed as `Error: <message>` with exit status 1 (no usage text, which
/// ArgumentParser prints only for `ValidationError`, i.e. bad arguments).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
