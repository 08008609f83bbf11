/// The text of one rule file and the path to name in errors.
public struct RuleFileSource: Hashable, Sendable {
    /// The path, as it should appear in error messages.
    public var path: String
    /// The YAML text.
    public var text: String

    /// Creates a source.
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}
