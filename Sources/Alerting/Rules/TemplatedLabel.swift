/// A rule label or annotation whose value is a template, expanded for each alert.
public struct TemplatedLabel: Hashable, Sendable {
    /// The label or annotation name.
    public var name: String
    /// The parsed value.
    public var template: Template

    /// Creates a pair.
    public init(name: String, template: Template) {
        self.name = name
        self.template = template
    }
}
