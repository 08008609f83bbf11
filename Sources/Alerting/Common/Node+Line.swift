import Yams

extension Node {
    /// The node's 1-based line in its file, 0 if unknown.
    var line: Int { mark?.line ?? 0 }

    /// Whether the node is a YAML null (`~`, `null`, or nothing).
    var isNull: Bool {
        guard case .scalar = self else { return false }
        return null != nil
    }

    /// What kind of node this is, for error messages.
    var kindName: String {
        switch self {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
