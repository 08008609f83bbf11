/// A template that does not parse, or failed while executing; `description` reads like Go's
/// `template: NAME:LINE: message`.
public struct TemplateError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The template's name (e.g. `__alert_HighErrorRatio`).
    public var name: String
    /// 1-based line within the template text.
    public var line: Int
    /// What went wrong.
    public var message: String
    /// Whether the failure happened while executing (not parsing).
    public var isExecution: Bool

    /// Creates an error.
    public init(name: String, line: Int, message: String, isExecution: Bool = false) {
        self.name = name
        self.line = line
        self.message = message
        self.isExecution = isExecution
    }

    /// `template: NAME:LINE: message`, with `executing "NAME"` for execution errors.
    public var description: String {
        isExecution
            ? "template: \(name):\(line): executing \(name.goQuoted): \(message)"
            : "template: \(name):\(line): \(message)"
    }
}
