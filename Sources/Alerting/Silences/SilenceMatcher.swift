import PromQL

/// A matcher of a silence, as Alertmanager's API v2: name, value, `isRegex`, `isEqual`.
public struct SilenceMatcher: Hashable, Sendable, Codable {
    /// The label name.
    public var name: String
    /// The value or regular expression.
    public var value: String
    /// Whether `value` is a regular expression.
    public var isRegex: Bool
    /// Whether the label must match (`true`) or must not match.
    public var isEqual: Bool

    /// Creates a matcher.
    public init(name: String, value: String, isRegex: Bool = false, isEqual: Bool = true) {
        self.name = name
        self.value = value
        self.isRegex = isRegex
        self.isEqual = isEqual
    }

    /// The equivalent label matcher; throws if the regular expression does not compile.
    public func labelMatcher() throws(PromQLError) -> LabelMatcher {
        let op: LabelMatcher.Operator =
            switch (isRegex, isEqual) {
            case (false, true): .equal
            case (false, false): .notEqual
            case (true, true): .regexMatch
            case (true, false): .regexNoMatch
            }
        return try LabelMatcher(name: name, op: op, value: value)
    }
}

extension SilenceMatcher {
    private enum CodingKeys: String, CodingKey {
        case name, value, isRegex, isEqual
    }

    /// Decodes a matcher; `isEqual` defaults to true as in Alertmanager's API.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        value = try container.decode(String.self, forKey: .value)
        isRegex = try container.decode(Bool.self, forKey: .isRegex)
        isEqual = try container.decodeIfPresent(Bool.self, forKey: .isEqual) ?? true
    }
}
