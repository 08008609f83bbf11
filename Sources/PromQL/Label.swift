/// One label: a name and a value.
public struct Label: Hashable, Sendable {
    /// A hash of the name and value, taken once when the label is made: grouping and matching combine the hashes of
    /// the labels they look at rather than hash the strings again for every sample of every query (at 10 000 series,
    /// hashing strings — and retaining them to do so — was most of a binary operation). First, so that comparing two
    /// labels compares it first.
    let pairHash: Int
    /// The label name, e.g. `service` or `__name__`.
    public let name: String
    /// The value; never empty inside `Labels` (an empty value means the label is absent).
    public let value: String

    /// Creates a label.
    public init(name: String, value: String) {
        var hasher = Hasher()
        hasher.combine(name)
        hasher.combine(value)
        self.pairHash = hasher.finalize()
        self.name = name
        self.value = value
    }

    public static func == (a: Label, b: Label) -> Bool {
        a.pairHash == b.pairHash && a.name == b.name && a.value == b.value
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(pairHash) }
}
