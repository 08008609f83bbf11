/// One label: a name and a value.
public struct Label: Hashable, Sendable {
    /// The label name, e.g. `service` or `__name__`.
    public var name: String
    /// The value; never empty inside `Labels` (an empty value means the label is absent).
    public var value: String

    /// Creates a label.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
