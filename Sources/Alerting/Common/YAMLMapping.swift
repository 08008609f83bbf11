import Yams

/// The checked entries of a YAML mapping, in file order.
struct YAMLMapping {
    /// Key, the key's line, and the value node.
    var entries: [(key: String, line: Int, value: Node)] = []

    /// The value of `key`, if present.
    subscript(key: String) -> Node? {
        entries.first { $0.key == key }?.value
    }

    /// The value of `key` unless absent or YAML null.
    func value(_ key: String) -> Node? {
        guard let node = self[key], !node.isNull else { return nil }
        return node
    }

    /// Whether `key` is present (even if null).
    func has(_ key: String) -> Bool { self[key] != nil }
}
